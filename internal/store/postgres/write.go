package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

// Each statement takes one array per column, so its text is the same for
// any batch size and pgx prepares it once per connection.
//
// The events it inserts are added to the series in the same statement
// (package series), the running totals (store.TotalsDelta), the
// insights' rollups (store.RollupDelta; "keyed": by the property keys
// kept, see rollup_keys.go) and the activity and first seen
// (store.ActivityDelta), with the day's bit in active_spans when the
// activity row is new: per
// partition and type, and per partition and latency
// bin ($18, computed with the same stored time $17), in bucket $19. Only
// the rows inserted count, so a redelivery adds nothing; the GROUP BY
// gives each upsert one row per key, in key order.
var insertEventsSQL = `WITH ins AS (
INSERT INTO events (
	event_id, user_id, event_type, element_id, session_id, page, message,
	properties, delay_seconds, should_fail, "timestamp",
	source, topic, "partition", "offset", request_id, created_at, source_id, anonymous_id)
SELECT e.event_id, e.user_id, e.event_type, e.element_id, e.session_id, e.page, e.message,
	e.properties::json, e.delay_seconds, e.should_fail, e.ts,
	e.source, e.topic, e.part, e.off, e.request_id, $17::timestamptz, e.source_id, e.anonymous_id
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
	$7::text[], $8::text[], $9::float8[], $10::bool[], $11::timestamptz[], $12::text[],
	$13::text[], $14::int4[], $15::int8[], $16::text[], $20::text[], $21::text[])
	AS e(event_id, user_id, event_type, element_id, session_id, page, message,
	properties, delay_seconds, should_fail, ts, source, topic, part, off, request_id,
	source_id, anonymous_id)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id, event_type, element_id, "partition", page, source_id, user_id, "timestamp", properties
), active AS (
INSERT INTO activity AS a (day, user_id, event_type, "partition", events)
SELECT floor(extract(epoch FROM "timestamp") / 86400)::int8, user_id, event_type, "partition", count(*)
FROM ins GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
ON CONFLICT (day, user_id, event_type, "partition") DO UPDATE SET events = a.events + excluded.events
RETURNING a.day, a.user_id, a.event_type, a."partition", a.xmax = 0 AS inserted
), spans AS (
INSERT INTO active_spans AS s (span_from, user_id, event_type, "partition", days)
SELECT ` + spanFromSQL + `, user_id, event_type, "partition", bit_or(` + spanBitSQL + `)
FROM active WHERE inserted GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
ON CONFLICT (span_from, user_id, event_type, "partition") DO UPDATE SET days = s.days | excluded.days
), seen AS (
INSERT INTO first_seen AS f (user_id, "partition", at)
SELECT user_id, "partition", min("timestamp") FROM ins GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (user_id, "partition") DO UPDATE SET at = excluded.at WHERE excluded.at < f.at
), cube AS (
SELECT ins."partition", ins.event_type, ins.page, ins.element_id, ins.source_id, b.minute, count(*) AS n
FROM ins JOIN unnest($1::text[], $22::int8[]) AS b(event_id, minute) USING (event_id)
GROUP BY 1, 2, 3, 4, 5, 6
), rolled AS (
INSERT INTO rollups AS r (width, dim, event_type, bucket, value, "partition", events)
SELECT w.width, d.dim, c.event_type, c.minute - (c.minute % w.width + w.width) % w.width,
	CASE d.dim WHEN 'page' THEN c.page WHEN 'element_id' THEN c.element_id
		WHEN 'source_id' THEN c.source_id ELSE '' END,
	c."partition", sum(c.n)
FROM cube c, (VALUES (60::int8), (3600::int8)) w(width),
	(VALUES (''), ('page'), ('element_id'), ('source_id')) d(dim)
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (width, dim, event_type, bucket, value, "partition") DO UPDATE SET events = r.events + excluded.events
), keyed AS (
INSERT INTO rollups AS r (width, dim, event_type, bucket, value, "partition", events)
SELECT w.width, '#' || k.id, ins.event_type, floor(extract(epoch FROM ins."timestamp") / w.width)::int8 * w.width,
	` + keyedValueSQL + `, ins."partition", count(*)
FROM ins, rollup_keys k, (VALUES (60::int8), (3600::int8)) w(width)
WHERE NOT k.removed
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (width, dim, event_type, bucket, value, "partition") DO UPDATE SET events = r.events + excluded.events
), totals_added AS (
INSERT INTO totals AS t ("partition", kind, key, n)
SELECT "partition", 'type', event_type, count(*) FROM ins GROUP BY "partition", event_type
UNION ALL
SELECT "partition", 'click', element_id, count(*) FROM ins
WHERE event_type = 'button_click' GROUP BY "partition", element_id
ORDER BY 1, 2, 3
ON CONFLICT ("partition", kind, key) DO UPDATE SET n = t.n + excluded.n
), by_type AS (
INSERT INTO series_events AS s (bucket, "partition", event_type, events)
SELECT $19::int8, "partition", event_type, count(*) FROM ins
GROUP BY "partition", event_type ORDER BY "partition", event_type
ON CONFLICT (bucket, "partition", event_type) DO UPDATE SET events = s.events + excluded.events
), by_bin AS (
INSERT INTO series_latency AS s (bucket, "partition", bin, events)
SELECT $19::int8, ins."partition", b.bin, count(*)
FROM ins JOIN unnest($1::text[], $18::int2[]) AS b(event_id, bin) USING (event_id)
GROUP BY ins."partition", b.bin ORDER BY ins."partition", b.bin
ON CONFLICT (bucket, "partition", bin) DO UPDATE SET events = s.events + excluded.events
)
SELECT event_id FROM ins`

// keyedValueSQL is a property's rollup value for an inserted row.
var keyedValueSQL = fmt.Sprintf(propertyValueSQL, "ins", "k.key")

// A message that completes after an earlier attempt was dead-lettered (a
// DLQ replay) replaces the dead-lettered row, so the log shows where the
// event ended up; anything else already stored is kept as it is. xmax is 0
// only on a row this statement inserted.
//
// The running totals of the statuses move in the same statement: +1 for
// each row written; a row replaced was a dead letter (the store keeps
// finished messages only, and only a completion replaces a row that did
// not complete), so -1 dead-lettered for each.
const upsertMessagesSQL = `WITH x AS (
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
	$7::text[], $8::text[], $9::int4[], $10::int8[], $11::text[], $12::timestamptz[],
	$13::timestamptz[], $14::timestamptz[], $15::float8[], $16::int4[],
	$17::timestamptz[], $18::text[], $19::timestamptz[], $20::text[], $21::text[])
	AS x(event_id, event_type, user_id, element_id, status, source, consumer_id,
	topic, part, off, request_id, queued_at, started_at, completed_at, duration_ms,
	retries, next_retry_at, error, fetched_at, attempts, replay_of)
), up AS (
INSERT INTO messages AS m (
	event_id, event_type, user_id, element_id, status, source, consumer_id,
	topic, "partition", "offset", request_id, queued_at, started_at,
	completed_at, duration_ms, retries, next_retry_at, error, fetched_at,
	attempts, replay_of, created_at)
SELECT x.*, $22::timestamptz FROM x
ON CONFLICT (event_id) DO UPDATE SET
	event_type = excluded.event_type, user_id = excluded.user_id,
	element_id = excluded.element_id, status = excluded.status,
	source = excluded.source, consumer_id = excluded.consumer_id,
	topic = excluded.topic, "partition" = excluded."partition",
	"offset" = excluded."offset", request_id = excluded.request_id,
	queued_at = excluded.queued_at, started_at = excluded.started_at,
	completed_at = excluded.completed_at, duration_ms = excluded.duration_ms,
	retries = excluded.retries, next_retry_at = excluded.next_retry_at,
	error = excluded.error, fetched_at = excluded.fetched_at,
	attempts = excluded.attempts, replay_of = excluded.replay_of,
	created_at = excluded.created_at
WHERE excluded.status = 'completed' AND m.status <> 'completed'
RETURNING m.event_id, m.xmax = 0 AS inserted, m.status, m.duration_ms, m."partition"
), moved AS (
SELECT "partition", status, 1 AS n, CASE WHEN status = 'completed' THEN duration_ms ELSE 0 END AS ms FROM up
UNION ALL
SELECT "partition", 'dead_lettered', -1, 0 FROM up WHERE NOT inserted
), totals_moved AS (
INSERT INTO totals AS t ("partition", kind, key, n, ms)
SELECT "partition", 'status', status, sum(n), sum(ms) FROM moved
GROUP BY "partition", status ORDER BY 1, 3
ON CONFLICT ("partition", kind, key) DO UPDATE SET n = t.n + excluded.n, ms = t.ms + excluded.ms
)
SELECT event_id, inserted FROM up`

// Write stores a batch in one transaction. A record is new when its event
// row is new or, for a dead-lettered record (no event), when its message
// row is new. The result is the same as writing the records one by one in
// order, which is how the SQLite store does it; that includes conflicts,
// records whose event_id is stored with other event content (see
// conflicts), and records of users on the suppression list, which write
// nothing (see checkSuppressed).
func (d *DB) Write(ctx context.Context, batch []store.Record) ([]store.Outcome, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	if err := store.CheckBatch(batch); err != nil {
		return nil, err
	}
	inserted := make([]store.Outcome, len(batch))
	if len(batch) == 0 {
		return inserted, nil
	}
	now := time.Now()
	users := store.BatchUsers(batch)
	// The positions move past every record, the suppressed ones too: the
	// consumer commits past them, and a position behind the committed
	// offset would say the database lost records.
	posArgs := positionArrays(batch)

	// A batch with events of sources also moves the delivery ledger on,
	// which needs to know what was new inside the transaction: it runs as
	// an explicit one. The others keep a single pipelined round trip, and
	// their conflicts are read after it commits.
	ledgered := false
	for i := range batch {
		if e := batch[i].Event; e != nil && e.SourceID != "" {
			ledgered = true
			break
		}
	}
	for attempt := 1; ; attempt++ {
		var err error
		if ledgered {
			inserted, err = d.writeTx(ctx, batch, users, posArgs, ledgered, now)
		} else {
			inserted, err = d.writePipelined(ctx, batch, users, posArgs, now)
			if errors.Is(err, errSuppressedUser) {
				inserted, err = d.writeTx(ctx, batch, users, posArgs, ledgered, now)
			}
		}
		if err == nil {
			break
		}
		// Rows keep the batch order, so that ids follow the Kafka order. Two
		// writers inserting the same ids in different orders (consumers
		// around a rebalance) can deadlock; the server aborts one, which
		// has written nothing and tries again once the other is through.
		if !retryable(err) || attempt == maxAttempts {
			return nil, d.fail("write batch", err)
		}
		d.log.Warn("write batch failed, retrying", "attempt", attempt, "err", err)
		if err := pause(ctx, attempt); err != nil {
			return nil, d.fail("write batch", err)
		}
	}
	if !ledgered {
		if err := d.conflicts(ctx, d.pool, batch, inserted); err != nil {
			return nil, d.fail("write batch", err)
		}
	}
	d.addUniques(ctx, uniquesOf(batch, inserted))
	return inserted, nil
}

// errSuppressedUser is pulse_refuse_suppressed's refusal (migration
// 00022): a user of the batch is on the suppression list.
var errSuppressedUser = errors.New("a user of the batch is on the suppression list")

// writePipelined writes a batch without a user on the suppression list in
// one round trip, as one implicit transaction: pulse_refuse_suppressed
// takes the lock an erasure waits on and checks the list, then the
// inserts run. A batch with such a user (rare) fails whole, with
// errSuppressedUser, and is written again by writeTx, which leaves those
// users out; any other failure also leaves nothing written.
func (d *DB) writePipelined(ctx context.Context, batch []store.Record, users map[string]string, posArgs []any, now time.Time) ([]store.Outcome, error) {
	p := plan(batch)
	var evArgs []any
	if len(p.events) > 0 {
		evArgs = eventArrays(batch, p.events, now)
	}
	msgArgs, err := messageArrays(p.messages, now)
	if err != nil {
		return nil, err
	}
	hashes := make([]string, 0, len(users))
	for _, h := range users {
		hashes = append(hashes, h)
	}
	out, err := sendChecked(ctx, d.pool, hashes, batch, p, evArgs, msgArgs, posArgs)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "PS001" {
		return nil, errSuppressedUser
	}
	return out, err
}

// writeTx writes a batch in one transaction: the suppression list is
// checked first (checkSuppressed), then the records of the users not on
// it are written in one round trip of pipelined statements, and, for a
// ledgered batch, the conflicts are read in it (a copy with other content
// is neither stored nor a duplicate) and the ledger is moved on.
func (d *DB) writeTx(ctx context.Context, batch []store.Record, users map[string]string, posArgs []any, ledgered bool, now time.Time) ([]store.Outcome, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	erased, err := checkSuppressed(ctx, tx, users)
	if err != nil {
		return nil, err
	}
	// kept are the records to write; at[j] is kept[j]'s index in batch.
	kept, at := batch, []int(nil)
	if len(erased) > 0 {
		kept = nil
		for i := range batch {
			if !erased[users[store.RecordUser(&batch[i])]] {
				kept, at = append(kept, batch[i]), append(at, i)
			}
		}
	}
	var written []store.Outcome
	switch {
	case len(kept) > 0:
		p := plan(kept)
		var evArgs []any
		if len(p.events) > 0 {
			evArgs = eventArrays(kept, p.events, now)
		}
		msgArgs, err := messageArrays(p.messages, now)
		if err != nil {
			return nil, err
		}
		if written, err = sendBatch(ctx, tx, kept, p, evArgs, msgArgs, posArgs); err != nil {
			return nil, err
		}
	case posArgs != nil:
		if _, err := tx.Exec(ctx, upsertPositionsSQL, posArgs...); err != nil {
			return nil, err
		}
	}
	// The suppressed records are finished too: their dead letter says the
	// rest.
	if len(kept) < len(batch) {
		if doneArgs := retryDoneArrays(batch); doneArgs != nil {
			if _, err := tx.Exec(ctx, deleteRetriesSQL, doneArgs...); err != nil {
				return nil, err
			}
		}
	}
	out := written
	if at != nil || len(kept) == 0 {
		out = make([]store.Outcome, len(batch))
		for i := range out {
			out[i].Suppressed = true
		}
		for j, i := range at {
			out[i] = written[j]
		}
	}
	if ledgered {
		if err := d.ledger(ctx, tx, batch, out, now); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit(ctx)
}

// ledger reads the conflicts of a written batch in its transaction and
// moves the delivery ledger on: a record new is stored, one neither new
// nor in conflict a duplicate; a suppressed one is neither.
func (d *DB) ledger(ctx context.Context, tx pgx.Tx, batch []store.Record, out []store.Outcome, now time.Time) error {
	if err := d.conflicts(ctx, tx, batch, out); err != nil {
		return err
	}
	var delta ledger.Delta
	for i := range batch {
		e, m := batch[i].Event, &batch[i].Message
		if e == nil || e.SourceID == "" || out[i].Suppressed {
			continue
		}
		switch {
		case out[i].New:
			delta.Stored(now, m.Partition, clean(e.SourceID), clean(e.StreamID), e.Seq, batch[i].Delivery)
		case out[i].Conflict == "":
			delta.Duplicate(now, m.Partition, clean(e.SourceID))
		}
	}
	return writeLedger(ctx, tx, now, &delta)
}

// queueBatch queues a batch's statements.
func queueBatch(b *pgx.Batch, evArgs, msgArgs, posArgs []any) {
	if evArgs != nil {
		b.Queue(insertEventsSQL, evArgs...)
	}
	b.Queue(upsertMessagesSQL, msgArgs...)
	if posArgs != nil {
		b.Queue(upsertPositionsSQL, posArgs...)
	}
}

// sendBatch sends the batch's statements on q and reads which rows were
// new.
func sendBatch(ctx context.Context, q querier, batch []store.Record, p batchPlan, evArgs, msgArgs, posArgs []any) ([]store.Outcome, error) {
	return sendChecked(ctx, q, nil, batch, p, evArgs, msgArgs, posArgs)
}

// sendChecked is sendBatch that first, when hashes is not nil, has
// pulse_refuse_suppressed check the batch's users in the same pipeline.
func sendChecked(ctx context.Context, q querier, hashes []string, batch []store.Record, p batchPlan, evArgs, msgArgs, posArgs []any) ([]store.Outcome, error) {
	// A pgx.Batch remembers the prepared statements of its last send,
	// which a failure may have dropped: each attempt gets a new one.
	b := &pgx.Batch{}
	if hashes != nil {
		b.Queue(`SELECT pulse_refuse_suppressed($1)`, hashes)
	}
	queueBatch(b, evArgs, msgArgs, posArgs)
	// Records that had failed once are finished: their retry rows go in
	// the same transaction.
	doneArgs := retryDoneArrays(batch)
	if doneArgs != nil {
		b.Queue(deleteRetriesSQL, doneArgs...)
	}
	br := q.SendBatch(ctx, b)
	var err error
	if hashes != nil {
		_, err = br.Exec()
	}
	var newEvents, newMessages map[string]bool
	if err == nil {
		newEvents, newMessages, err = readResults(br, evArgs != nil)
	}
	if err == nil && posArgs != nil {
		_, err = br.Exec()
	}
	if err == nil && doneArgs != nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	out := make([]store.Outcome, len(batch))
	for i := range batch {
		id := clean(batch[i].Message.EventID)
		if batch[i].Event != nil {
			out[i].New = p.firstEvent[id] == i && newEvents[id]
		} else {
			out[i].New = p.first[id] == i && newMessages[id]
		}
	}
	return out, nil
}

// querier is what a batch is written through: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// conflicts marks the records whose event was not new and whose content
// differs from the event stored under its event_id: a reuse of the id,
// not a redelivery. Conflicts are rare (a redelivery after a crash or a
// rebalance, a client reusing an id), so the stored rows are read back
// only for the records that were not new, after the batch committed.
//
// A conflicting record wrote nothing: its event was not inserted, and its
// message row (completed, like every message whose event is stored) was
// not replaced, as only a completion replaces a row that did not
// complete.
func (d *DB) conflicts(ctx context.Context, q querier, batch []store.Record, out []store.Outcome) error {
	var ids []string
	for i := range batch {
		if batch[i].Event != nil && !out[i].New && !out[i].Suppressed {
			ids = append(ids, clean(batch[i].Event.EventID))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT event_id, user_id, event_type, element_id, session_id, page, message,
		properties::text, delay_seconds, should_fail, "timestamp", topic, "partition", "offset",
		source_id, anonymous_id
		FROM events WHERE event_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	stored := make(map[string]*store.StoredEvent, len(ids))
	var (
		st    store.StoredEvent
		props pgtype.Text
	)
	if _, err := pgx.ForEachRow(rows, []any{&st.Event.EventID, &st.Event.UserID, &st.Event.EventType,
		&st.Event.ElementID, &st.Event.SessionID, &st.Event.Page, &st.Event.Message, &props,
		&st.Event.DelaySeconds, &st.Event.ShouldFail, &st.Event.Timestamp, &st.Topic, &st.Partition, &st.Offset,
		&st.Event.SourceID, &st.Event.AnonymousID,
	}, func() error {
		c := st
		c.Event.Properties = nil
		if props.Valid {
			c.Event.Properties = []byte(props.String)
		}
		stored[c.Event.EventID] = &c
		return nil
	}); err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	for i := range batch {
		e := batch[i].Event
		if e == nil || out[i].New || out[i].Suppressed {
			continue
		}
		s := stored[clean(e.EventID)]
		if s == nil {
			continue
		}
		if c := cleaned(e); !store.SameContent(s, &c, batch[i].TimeFilled) {
			out[i].Conflict = s.Origin()
		}
	}
	return nil
}

// cleaned is e as this store keeps it (see clean).
func cleaned(e *event.Event) event.Event {
	c := *e
	c.EventID, c.UserID, c.EventType, c.ElementID = clean(e.EventID), clean(e.UserID), clean(e.EventType), clean(e.ElementID)
	c.SessionID, c.Page, c.Message = clean(e.SessionID), clean(e.Page), clean(e.Message)
	c.SourceID, c.AnonymousID = clean(e.SourceID), clean(e.AnonymousID)
	return c
}

// maxAttempts bounds the tries of a batch that keeps deadlocking.
const maxAttempts = 5

// retryable reports an error after which the same batch may succeed: a
// deadlock or serialization failure, which rolled the transaction back.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// pause waits a few jittered milliseconds before another attempt, so that
// two writers that deadlocked do not meet again at once.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func readResults(br pgx.BatchResults, events bool) (newEvents, newMessages map[string]bool, err error) {
	newEvents = map[string]bool{}
	newMessages = map[string]bool{}
	if events {
		rows, _ := br.Query()
		var id string
		if _, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			newEvents[id] = true
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	rows, _ := br.Query()
	var (
		id  string
		ins bool
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &ins}, func() error {
		newMessages[id] = ins
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return newEvents, newMessages, nil
}

// batchPlan is a batch folded to one row per event_id and table, as
// writing its records in order would leave them: the first event wins, and
// a completed message replaces an earlier one that did not complete.
type batchPlan struct {
	events     []int // records whose event is written, by event_id
	messages   []*event.Message
	first      map[string]int // first record of each event_id
	firstEvent map[string]int // first record with an event of each event_id
}

func plan(batch []store.Record) batchPlan {
	p := batchPlan{
		first:      make(map[string]int, len(batch)),
		firstEvent: make(map[string]int, len(batch)),
	}
	msgs := make(map[string]*event.Message, len(batch))
	for i := range batch {
		r := &batch[i]
		// Keyed as stored: ids that clean to the same text are one row.
		id := clean(r.Message.EventID)
		if _, ok := p.first[id]; !ok {
			p.first[id] = i
			p.messages = append(p.messages, &r.Message)
			msgs[id] = &r.Message
		} else if cur := msgs[id]; r.Message.Status == event.StatusCompleted && cur.Status != event.StatusCompleted {
			msgs[id] = &r.Message
		}
		if r.Event != nil {
			if _, ok := p.firstEvent[id]; !ok {
				p.firstEvent[id] = i
				p.events = append(p.events, i)
			}
		}
	}
	for i, m := range p.messages {
		p.messages[i] = msgs[clean(m.EventID)]
	}
	return p
}

func eventArrays(batch []store.Record, idx []int, now time.Time) []any {
	n := len(idx)
	var (
		ids, users, types, elements = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		sessions, pages, texts      = make([]string, n), make([]string, n), make([]string, n)
		props                       = make([]pgtype.Text, n)
		delays                      = make([]float64, n)
		fails                       = make([]bool, n)
		stamps                      = make([]time.Time, n)
		sources, topics, requests   = make([]string, n), make([]string, n), make([]string, n)
		parts                       = make([]int32, n)
		offsets                     = make([]int64, n)
		bins                        = make([]int16, n)
		sourceIDs, anonIDs          = make([]string, n), make([]string, n)
		minutes                     = make([]int64, n)
	)
	for j, i := range idx {
		e, m := batch[i].Event, &batch[i].Message
		ids[j], users[j], types[j], elements[j] = clean(e.EventID), clean(e.UserID), clean(e.EventType), clean(e.ElementID)
		sessions[j], pages[j], texts[j] = clean(e.SessionID), clean(e.Page), clean(e.Message)
		if len(e.Properties) > 0 {
			props[j] = pgtype.Text{String: string(e.Properties), Valid: true}
		}
		delays[j], fails[j], stamps[j] = e.DelaySeconds, e.ShouldFail, e.Timestamp
		sources[j], topics[j], requests[j] = clean(string(m.Source)), clean(m.Topic), clean(m.RequestID)
		parts[j], offsets[j] = m.Partition, m.Offset
		bins[j] = int16(series.LatencyBin(now.Sub(e.Timestamp)))
		sourceIDs[j], anonIDs[j] = clean(e.SourceID), clean(e.AnonymousID)
		minutes[j] = store.RollupBucket(e.Timestamp, store.RollupMinute)
	}
	return []any{ids, users, types, elements, sessions, pages, texts, props, delays, fails,
		stamps, sources, topics, parts, offsets, requests, now, bins, series.BucketOf(now),
		sourceIDs, anonIDs, minutes}
}

func messageArrays(msgs []*event.Message, now time.Time) ([]any, error) {
	n := len(msgs)
	var (
		ids, types, users, elements  = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		statuses, sources, consumers = make([]string, n), make([]string, n), make([]string, n)
		topics, requests, errs       = make([]string, n), make([]string, n), make([]string, n)
		parts, retries               = make([]int32, n), make([]int32, n)
		offsets                      = make([]int64, n)
		queued                       = make([]time.Time, n)
		started, done, next          = make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
		durations                    = make([]float64, n)
		fetched                      = make([]pgtype.Timestamptz, n)
		attempts                     = make([]pgtype.Text, n)
		replays                      = make([]string, n)
	)
	for j, m := range msgs {
		ids[j], types[j], users[j], elements[j] = clean(m.EventID), clean(m.EventType), clean(m.UserID), clean(m.ElementID)
		statuses[j], sources[j], consumers[j] = clean(string(m.Status)), clean(string(m.Source)), clean(m.ConsumerID)
		topics[j], requests[j], errs[j] = clean(m.Topic), clean(m.RequestID), clean(m.Error)
		parts[j], retries[j], offsets[j] = m.Partition, int32(m.Retries), m.Offset
		queued[j], started[j], done[j], next[j] = m.QueuedAt, tz(m.StartedAt), tz(m.CompletedAt), tz(m.NextRetryAt)
		durations[j] = m.DurationMS
		fetched[j], replays[j] = tz(m.FetchedAt), clean(m.ReplayOf)
		a, err := store.AttemptsJSON(m.Attempts)
		if err != nil {
			return nil, fmt.Errorf("message %q: %w", m.EventID, err)
		}
		attempts[j] = pgtype.Text{String: clean(a.String), Valid: a.Valid}
	}
	return []any{ids, types, users, elements, statuses, sources, consumers, topics, parts,
		offsets, requests, queued, started, done, durations, retries, next, errs,
		fetched, attempts, replays, now}, nil
}

func tz(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: *t, Valid: true}
}

// clean makes s storable as PostgreSQL text, which rejects NUL and invalid
// UTF-8 that SQLite would keep: validated event fields never have them, but
// an error text from processing might, and one bad string must not fail a
// whole batch again and again.
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
