package chaos

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3" // the driver of the stores the processes write
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// load sends generated events at a steady rate and remembers the id of
// every event the cluster acknowledged.
type load struct {
	p      *kafka.Producer
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	acked    map[string]struct{}
	failed   map[string]struct{}
	sent     atomic.Int64
	lastErr  atomic.Value // string
	started  time.Time
	stopped  time.Time
	stopOnce sync.Once
}

// loadConfig tunes startLoad.
type loadConfig struct {
	// Rate is events per second.
	Rate int
	// FailureRate is the share of events marked should_fail.
	FailureRate float64
	// Seed makes the events repeatable.
	Seed uint64
	// Topic is the events topic (default user_events).
	Topic string
	// DeliveryTimeout bounds each record's delivery (default 60 s, longer
	// than any outage the tests cause).
	DeliveryTimeout time.Duration
	// DelayRate is the share of events given a processing delay of up to
	// 2 s, held in flight when a kill comes; 0 sends none.
	DelayRate float64
}

// kafkaConfig is a client configuration for the cluster at addr.
func kafkaConfig(addr string) *config.Config {
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = addr
	return &cfg
}

// startLoad produces lc.Rate events per second to the events topic at
// addr until stop is called.
func startLoad(t *testing.T, addr string, lc loadConfig) *load {
	t.Helper()
	if lc.DeliveryTimeout == 0 {
		lc.DeliveryTimeout = 60 * time.Second
	}
	kc := kafkaConfig(addr)
	if lc.Topic != "" {
		kc.Kafka.Topic = lc.Topic
	}
	p, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: kc.Kafka, Name: "chaos", DeliveryTimeout: lc.DeliveryTimeout}, nil, nil)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{p: p, cancel: cancel, acked: make(map[string]struct{}), failed: make(map[string]struct{}), started: time.Now()}
	gen := generator.New(generator.Config{Seed: lc.Seed, FailureRate: lc.FailureRate, DelayRate: lc.DelayRate, MaxDelay: 2})
	l.wg.Go(func() { l.run(ctx, gen, lc.Rate, lc.DelayRate > 0) })
	t.Cleanup(l.stop)
	return l
}

// run sends, every 10 ms, the events due since the start.
func (l *load) run(ctx context.Context, gen *generator.Generator, rate int, delays bool) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var n int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due := int64(time.Since(l.started).Seconds() * float64(rate))
		for ; n < due && ctx.Err() == nil; n++ {
			e := gen.Next()
			if !delays {
				e.DelaySeconds = 0 // unless asked for, keep the load steady
			}
			l.sent.Add(1)
			// Not ctx: stopping the load must not fail what is already
			// buffered; Close flushes it.
			l.p.ProduceAsync(context.Background(), &e, event.SourceProducer, "", func(_ kafka.Ack, err error) {
				l.mu.Lock()
				defer l.mu.Unlock()
				if err != nil {
					l.failed[e.EventID] = struct{}{}
					l.lastErr.Store(err.Error())
					return
				}
				l.acked[e.EventID] = struct{}{}
			})
		}
	}
}

// stop ends the load and waits until every record sent is acknowledged
// or failed.
func (l *load) stop() {
	l.stopOnce.Do(func() {
		l.cancel()
		l.wg.Wait()
		l.p.Close()
		l.stopped = time.Now()
	})
}

// ackedIDs returns a copy of the acknowledged ids.
func (l *load) ackedIDs() map[string]struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]struct{}, len(l.acked))
	for id := range l.acked {
		out[id] = struct{}{}
	}
	return out
}

// counts returns how many events were sent, acknowledged and failed.
func (l *load) counts() (sent, acked, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.sent.Load()), len(l.acked), len(l.failed)
}

// waitAcked blocks until at least n events are acknowledged.
func (l *load) waitAcked(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	pulsetest.WaitFor(t, timeout, fmt.Sprintf("%d acknowledged events", n), func() error {
		_, acked, _ := l.counts()
		if acked < n {
			e, _ := l.lastErr.Load().(string)
			return fmt.Errorf("%d acknowledged (last error %q)", acked, e)
		}
		return nil
	})
}

// storedIDs counts the rows of each event_id in table (events or
// messages, which may carry a WHERE clause) of a store: a SQLite file
// path or a postgres:// URL.
func storedIDs(ctx context.Context, dbURL, table string) (map[string]int, error) {
	q := `SELECT event_id, COUNT(*) FROM ` + table + ` GROUP BY event_id`
	out := make(map[string]int)
	driver, dsn := (&config.Store{DatabaseURL: dbURL}).Database()
	if driver == config.DriverPostgres {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", config.RedactURL(dsn), err)
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", table, err)
		}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return nil, fmt.Errorf("scan %s: %w", table, err)
			}
			out[id] = n
		}
		return out, rows.Err()
	}
	db, err := sql.Open("sqlite3", dsn+"?_busy_timeout=10000")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dsn, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("query %s in %s: %w", table, dsn, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// groupLag is the consumer group's total lag on the events topic.
func groupLag(ctx context.Context, addr, group, topic string) (int64, error) {
	a, err := kafka.NewAdmin(kafkaConfig(addr).Kafka, nil, nil)
	if err != nil {
		return 0, err
	}
	defer a.Close()
	gl, err := a.GroupLag(ctx, group, topic)
	if err != nil {
		return 0, err
	}
	return gl.TotalLag, nil
}

// verdict compares what was acknowledged with what is stored.
type verdict struct {
	Acked, Stored, Missing, Duplicated, Extra int
}

func (v verdict) String() string {
	return fmt.Sprintf("acknowledged %d, stored %d, missing %d, duplicated %d, stored but unacknowledged %d",
		v.Acked, v.Stored, v.Missing, v.Duplicated, v.Extra)
}

func compare(acked map[string]struct{}, stored map[string]int) (verdict, []string) {
	v := verdict{Acked: len(acked), Stored: len(stored)}
	var missing []string
	for id := range acked {
		n := stored[id]
		switch {
		case n == 0:
			v.Missing++
			missing = append(missing, id)
		case n > 1:
			v.Duplicated++
		}
	}
	for id, n := range stored {
		if _, ok := acked[id]; !ok {
			v.Extra++
			if n > 1 {
				v.Duplicated++
			}
		}
	}
	sort.Strings(missing)
	return v, missing
}

// waitExactlyOnce waits until the group has no lag and every
// acknowledged event is stored, then checks that none is stored twice, in
// events and in the processing log. It returns the final verdict.
func waitExactlyOnce(t *testing.T, addr, group, dbURL string, acked map[string]struct{}, timeout time.Duration) verdict {
	t.Helper()
	return waitExactlyOnceTopic(t, addr, config.Default().Kafka.Topic, group, dbURL, acked, timeout)
}

// waitExactlyOnceTopic is waitExactlyOnce for the events topic topic.
func waitExactlyOnceTopic(t *testing.T, addr, topic, group, dbURL string, acked map[string]struct{}, timeout time.Duration) verdict {
	t.Helper()
	var v verdict
	var missing []string
	ctx := pulsetest.Context(t, timeout+10*time.Second)
	pulsetest.WaitFor(t, timeout, "every acknowledged event stored", func() error {
		lag, err := groupLag(ctx, addr, group, topic)
		if err != nil {
			return err
		}
		stored, err := storedIDs(ctx, dbURL, "events")
		if err != nil {
			return err
		}
		v, missing = compare(acked, stored)
		if lag != 0 || v.Missing > 0 {
			return fmt.Errorf("lag %d; %v; first missing %v", lag, v, first(missing, 3))
		}
		return nil
	})
	// event_id is unique in the store, so a doubled event can only show
	// as a row under an id nobody acknowledged: Extra is the count that
	// catches it (and a record stored though its producer saw a failure).
	if v.Duplicated > 0 || v.Extra > 0 {
		t.Errorf("events: %v", v)
	}
	// The completed rows of the processing log: dead-lettered ones belong
	// to failing or poison records, which the tests that send them count
	// exactly on their own.
	msgs, err := storedIDs(ctx, dbURL, "messages WHERE status = 'completed'")
	if err != nil {
		t.Fatalf("processing log: %v", err)
	}
	if mv, _ := compare(acked, msgs); mv.Missing > 0 || mv.Duplicated > 0 || mv.Extra > 0 {
		t.Errorf("processing log: %v", mv)
	}
	return v
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// topicRecords counts the records of a topic by reading it to its end.
func topicRecords(ctx context.Context, addr, topic string) ([]*kgo.Record, error) {
	// Read as any Kafka client reading committed records would: dead
	// letters of aborted transactions are not there. Markers come
	// through only to tell how far the read got.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	cfg := kafkaConfig(addr)
	a, err := kafka.NewAdmin(cfg.Kafka, nil, nil)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	d, err := a.DescribeTopic(ctx, topic, "")
	if err != nil {
		return nil, err
	}
	end := make(map[int32]int64, len(d.Partitions))
	next := make(map[int32]int64, len(d.Partitions))
	for _, p := range d.Partitions {
		end[p.Partition] = p.EndOffset
		next[p.Partition] = p.StartOffset
	}
	behind := func() (n int64) {
		for p, e := range end {
			n += max(0, e-next[p])
		}
		return n
	}
	var recs []*kgo.Record
	for behind() > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return recs, fmt.Errorf("read %s: %d records, %d offsets short of the end (an open transaction?): %w", topic, len(recs), behind(), err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = errors.Join(ferr, err) })
		if ferr != nil {
			return recs, fmt.Errorf("read %s: %w", topic, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next[r.Partition] = r.Offset + 1
			if !r.Attrs.IsControl() {
				recs = append(recs, r)
			}
		})
	}
	return recs, nil
}
