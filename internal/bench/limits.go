package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/postgres"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// Limits are the raw rates of the parts the pipeline depends on.
type Limits struct {
	// SQLiteInsert and PostgresInsert are records (an event row and its
	// processing-log row) per second through store.Write.
	SQLiteInsert   Spread  `json:"sqlite_insert_records_per_s"`
	PostgresInsert *Spread `json:"postgres_insert_records_per_s,omitempty"`
	// ...Kept are the same with KeptKeys kept in the rollups: what the
	// write path pays for a breakdown by a property from the rollups.
	SQLiteInsertKept   Spread   `json:"sqlite_insert_kept_records_per_s"`
	PostgresInsertKept *Spread  `json:"postgres_insert_kept_records_per_s,omitempty"`
	KeptKeys           []string `json:"kept_keys"`
	InsertShape        string   `json:"insert_shape"`
	// Produce and Consume are records per second of the embedded broker.
	Produce      Spread `json:"produce_records_per_s"`
	Consume      Spread `json:"consume_records_per_s"`
	BrokerShape  string `json:"broker_shape"`
	RecordBytes  int    `json:"record_bytes"`
	PostgresNote string `json:"postgres_note,omitempty"`
}

func (r *runner) limits(ctx context.Context) error {
	p := r.plan
	l := &r.rep.Limits
	l.InsertShape = fmt.Sprintf("%d records per run into a fresh database, store.Write in batches of %d, one goroutine; a record is an event row plus its completed processing-log row (the pipeline's write)", p.LimitRows, p.LimitBatch)
	l.KeptKeys = keptKeys
	var sq, sqKept, pg, pgKept, prod, cons []float64
	// Without and with kept keys in turn, so that both meet the same
	// moments of whatever else the machine does.
	for i := range p.Reps {
		for _, keys := range [][]string{nil, keptKeys} {
			v, err := r.sqliteInsert(ctx, p.LimitRows, p.LimitBatch, keys)
			if err != nil {
				return err
			}
			if keys == nil {
				sq = append(sq, v)
			} else {
				sqKept = append(sqKept, v)
			}
			r.progress("limits: SQLite insert run %d, keys kept %v: %.0f records/s", i+1, keys, v)
		}
	}
	l.SQLiteInsert, l.SQLiteInsertKept = spread(sq), spread(sqKept)
	if r.pg != "" {
		for i := range p.Reps {
			for _, keys := range [][]string{nil, keptKeys} {
				v, err := r.postgresInsert(ctx, p.LimitRows, p.LimitBatch, keys)
				if err != nil {
					return err
				}
				if keys == nil {
					pg = append(pg, v)
				} else {
					pgKept = append(pgKept, v)
				}
				r.progress("limits: PostgreSQL insert run %d, keys kept %v: %.0f records/s", i+1, keys, v)
			}
		}
		s, k := spread(pg), spread(pgKept)
		l.PostgresInsert, l.PostgresInsertKept = &s, &k
	}
	pl, err := newPool(1024, 600)
	if err != nil {
		return err
	}
	l.RecordBytes = pl.bytes
	l.BrokerShape = fmt.Sprintf("%d records of %d bytes (event JSON) per run, kgo acks=all idempotent, snappy, 5 ms linger, one producer and one consumer client, 3 partitions, embedded broker persisting to disk as `pulse serve` runs it", p.LimitRecords, pl.bytes)
	for i := range p.Reps {
		pr, cr, err := r.brokerRates(ctx, pl, p.LimitRecords)
		if err != nil {
			return err
		}
		prod, cons = append(prod, pr), append(cons, cr)
		r.progress("limits: broker run %d: produce %.0f, consume %.0f records/s", i+1, pr, cr)
	}
	l.Produce, l.Consume = spread(prod), spread(cons)
	return nil
}

// records makes n new records shaped like the pipeline's writes.
func records(gen *generator.Generator, n int, offset int64) []store.Record {
	out := make([]store.Record, n)
	now := time.Now().UTC()
	for i := range out {
		e := gen.Next()
		started := now.Add(-3 * time.Millisecond)
		out[i] = store.Record{
			Event: &e,
			Message: event.Message{
				EventID: e.EventID, EventType: e.EventType, UserID: e.UserID, ElementID: e.ElementID,
				Status: event.StatusCompleted, Source: event.SourceProducer, ConsumerID: "bench-1",
				Topic: "user_events", Partition: int32(i % 3), Offset: offset + int64(i),
				QueuedAt: now, StartedAt: &started, CompletedAt: &now, DurationMS: 3,
			},
		}
	}
	return out
}

// keptKeys are the property keys the insert runs keep in the rollups:
// every generated event carries both (the user's plan, of three, and
// country, of a dozen).
var keptKeys = []string{"plan", "country"}

// insertRate writes rows records in batches, with keys kept in the
// rollups, and times the writes only.
func insertRate(ctx context.Context, s store.Store, rows, batch int, keys []string) (float64, error) {
	for _, k := range keys {
		if _, err := s.AddRollupKey(ctx, k); err != nil {
			return 0, err
		}
	}
	gen := generator.New(generator.Config{})
	var spent time.Duration
	for done := 0; done < rows; done += batch {
		b := records(gen, min(batch, rows-done), int64(done))
		t := time.Now()
		if _, err := s.Write(ctx, b); err != nil {
			return 0, fmt.Errorf("write batch at %d: %w", done, err)
		}
		spent += time.Since(t)
	}
	return float64(rows) / spent.Seconds(), nil
}

func (r *runner) sqliteInsert(ctx context.Context, rows, batch int, keys []string) (float64, error) {
	dir, err := r.dir("sqlite-limit")
	if err != nil {
		return 0, err
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "pulse.db"), sqlite.Options{}, r.log)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return insertRate(ctx, db, rows, batch, keys)
}

func (r *runner) postgresInsert(ctx context.Context, rows, batch int, keys []string) (float64, error) {
	schema, drop, err := r.freshSchema(ctx)
	if err != nil {
		return 0, err
	}
	defer drop()
	db, err := postgres.Open(ctx, r.pg, postgres.Options{Schema: schema}, r.log)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return insertRate(ctx, db, rows, batch, keys)
}

// probePostgres returns the PostgreSQL URL when it answers, and notes why
// not otherwise.
func (r *runner) probePostgres(ctx context.Context) string {
	if r.cfg.PostgresURL == "" {
		r.note("PostgreSQL: no URL given; its figures are skipped.")
		return ""
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, r.cfg.PostgresURL)
	if err == nil {
		err = conn.Ping(cctx)
		conn.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		r.note("PostgreSQL at %s is unreachable (%v); its figures are skipped.", postgres.Redact(r.cfg.PostgresURL), err)
		return ""
	}
	return r.cfg.PostgresURL
}

// freshSchema creates an empty schema for one run; drop removes it.
func (r *runner) freshSchema(ctx context.Context) (string, func(), error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("schema name: %w", err)
	}
	schema := "pulse_bench_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, r.pg)
	if err != nil {
		return "", nil, fmt.Errorf("connect %s: %w", postgres.Redact(r.pg), err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		if _, err := conn.Exec(dctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			r.log.Warn("drop bench schema", "schema", schema, "err", err)
		}
		conn.Close(dctx)
	}
	return schema, drop, nil
}

// brokerRates produces n records to a fresh embedded broker as fast as
// the client takes them, then consumes them all, and returns both rates.
func (r *runner) brokerRates(ctx context.Context, pl *pool, n int) (produce, consume float64, err error) {
	dir, err := r.dir("broker-limit")
	if err != nil {
		return 0, 0, err
	}
	const topic = "bench"
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0", DataDir: dir, Topics: []broker.Topic{{Name: topic, Partitions: 3}}}, r.log)
	if err != nil {
		return 0, 0, err
	}
	defer b.Close()

	pc, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchCompression(kgo.SnappyCompression()),
		kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return 0, 0, fmt.Errorf("producer client: %w", err)
	}
	defer pc.Close()
	var failed atomic.Int64
	var firstErr firstError
	start := time.Now()
	for i := range n {
		rec := pl.record(int64(i))
		pc.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				firstErr.set(err)
			}
		})
	}
	if err := pc.Flush(ctx); err != nil {
		return 0, 0, fmt.Errorf("flush: %w", err)
	}
	produce = float64(n) / time.Since(start).Seconds()
	if f := failed.Load(); f > 0 {
		return 0, 0, fmt.Errorf("%d of %d records failed: %v", f, n, firstErr.get())
	}

	cc, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64<<20),
		// Read as the pipeline reads.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return 0, 0, fmt.Errorf("consumer client: %w", err)
	}
	defer cc.Close()
	start = time.Now()
	got := 0
	for got < n {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		fs := cc.PollFetches(pctx)
		cancel()
		if err := fs.Err0(); err != nil {
			return 0, 0, fmt.Errorf("consume after %d of %d: %w", got, n, err)
		}
		got += fs.NumRecords()
	}
	consume = float64(n) / time.Since(start).Seconds()
	return produce, consume, nil
}
