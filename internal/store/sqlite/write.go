package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

const insertEventSQL = `INSERT INTO events (
	event_id, user_id, event_type, element_id, session_id, page, message,
	properties, delay_seconds, should_fail, timestamp,
	source, topic, "partition", "offset", request_id, created_at,
	source_id, anonymous_id
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (event_id) DO NOTHING`

// A message row is inserted when its event_id has none yet. A message that
// completes after an earlier attempt was dead-lettered (a DLQ replay)
// replaces the dead-lettered row (replaceMessageSQL), so the log shows
// where the event ended up; anything else already stored is kept as it is.
const insertMessageSQL = `INSERT INTO messages (
	event_id, event_type, user_id, element_id, status, source, consumer_id,
	topic, "partition", "offset", request_id, queued_at, started_at,
	completed_at, duration_ms, retries, next_retry_at, error, fetched_at,
	attempts, replay_of, created_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (event_id) DO NOTHING`

const replaceMessageSQL = `UPDATE messages SET
	event_type = ?2, user_id = ?3, element_id = ?4, status = ?5, source = ?6,
	consumer_id = ?7, topic = ?8, "partition" = ?9, "offset" = ?10,
	request_id = ?11, queued_at = ?12, started_at = ?13, completed_at = ?14,
	duration_ms = ?15, retries = ?16, next_retry_at = ?17, error = ?18,
	fetched_at = ?19, attempts = ?20, replay_of = ?21, created_at = ?22
WHERE event_id = ?1`

// Write stores a batch. A record is new when its event row is new or, for
// a dead-lettered record (no event), when its message row is new. A record
// whose event_id is stored with other event content is a conflict: it is
// not written at all.
//
// Batches that arrive while another is being written are committed
// together in the next transaction (group commit): the consumer-group
// members share the one writer connection, and one commit of their
// batches rewrites each index page they touch once instead of once per
// member. A batch is written in a group only while its caller waits; a
// caller whose ctx ends before its batch is taken gets ctx's error.
func (d *DB) Write(ctx context.Context, batch []store.Record) ([]store.Outcome, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	if err := store.CheckBatch(batch); err != nil {
		return nil, err
	}
	if err := d.corruption(); err != nil {
		return nil, err
	}
	if len(batch) == 0 {
		return []store.Outcome{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, d.fail("write batch", err)
	}
	req := &writeReq{batch: batch, done: make(chan struct{})}
	d.gmu.Lock()
	d.queue = append(d.queue, req)
	d.gmu.Unlock()
	for {
		select {
		case <-req.done:
			return req.inserted, req.err
		case d.writing <- struct{}{}:
			// The writer's turn: write whatever is queued, ours included
			// unless an earlier turn took it.
			d.gmu.Lock()
			group := d.queue
			d.queue = nil
			d.gmu.Unlock()
			d.writeGroup(group)
			<-d.writing
		case <-ctx.Done():
			d.gmu.Lock()
			i := slices.Index(d.queue, req)
			if i >= 0 {
				d.queue = slices.Delete(d.queue, i, i+1)
			}
			d.gmu.Unlock()
			if i >= 0 {
				return nil, d.fail("write batch", ctx.Err())
			}
			// Already taken by a turn in progress: its result is moments away.
			<-req.done
			return req.inserted, req.err
		}
	}
}

// writeReq is one caller's batch waiting for the writer.
type writeReq struct {
	batch    []store.Record
	inserted []store.Outcome
	err      error
	done     chan struct{}
}

// writeGroup commits the batches of group in one transaction. If that
// fails and there were several, each is tried alone, so a batch the
// database refuses fails only its own caller.
func (d *DB) writeGroup(group []*writeReq) {
	if len(group) == 0 {
		return
	}
	batches := make([][]store.Record, len(group))
	for i, r := range group {
		batches[i] = r.batch
	}
	inserted, err := d.writeTx(batches)
	if err != nil && len(group) > 1 && !errors.Is(err, store.ErrClosed) {
		for _, r := range group {
			var one [][]store.Outcome
			one, r.err = d.writeTx([][]store.Record{r.batch})
			if r.err == nil {
				r.inserted = one[0]
			}
			close(r.done)
		}
		return
	}
	for i, r := range group {
		if err != nil {
			r.err = err
		} else {
			r.inserted = inserted[i]
		}
		close(r.done)
	}
}

// writeTx writes batches in one transaction and reports, per batch, which
// records were new. It runs without a caller's context: a group holds
// several callers' batches, and one transaction of them takes
// milliseconds.
func (d *DB) writeTx(batches [][]store.Record) ([][]store.Outcome, error) {
	now := micros(time.Now())
	tx, err := d.w.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, d.fail("write batch: begin", err)
	}
	// The statements run without ctx: the driver starts a watcher goroutine
	// per call for a cancellable context, which costs more than the insert.
	ev := tx.Stmt(d.insEvent)
	msg := tx.Stmt(d.insMessage)
	out := make([][]store.Outcome, len(batches))
	var added series.Delta
	var counted ledger.Delta
	var totals store.TotalsDelta
	rollups := store.RollupDelta{}
	uniques := store.UniqueDelta{}
	var active store.ActivityDelta
	storedAt := fromMicros(now)
	// The property rollups count the events this transaction stores, ids
	// from firstID on, in one statement at its end (countProperties).
	keyed, err := keptKeys(tx)
	var firstID int64
	if err == nil && keyed {
		firstID, err = nextEventID(tx)
	}
	if err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch: rollup keys", err)
	}
	// The users erased (EraseUser) write nothing: looked up once for the
	// whole transaction. SQLite has one writer, so no erasure can commit
	// between this check and the inserts.
	users := store.BatchUsers(batches...)
	erased, err := suppressed(tx, users)
	if err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	for b, batch := range batches {
		inserted := make([]store.Outcome, len(batch))
		for i := range batch {
			r := &batch[i]
			if erased[users[store.RecordUser(r)]] {
				inserted[i].Suppressed = true
				continue
			}
			var n int64
			if r.Event != nil {
				var err error
				n, err = execCount(ev, eventArgs(r, now))
				if err == nil && n == 0 {
					// Already stored: a redelivery, or the event_id
					// reused for another event. Rare, so the row is
					// read back to tell.
					var conflict string
					conflict, err = conflictOf(tx, r.Event, r.TimeFilled)
					inserted[i].Conflict = conflict
				}
				if err != nil {
					_ = tx.Rollback()
					return nil, d.fail(fmt.Sprintf("write batch: event %q", r.Event.EventID), err)
				}
				inserted[i].New = n == 1
				if n == 1 {
					added.Add(storedAt, r.Message.Partition, r.Event.EventType, r.Event.Timestamp)
					totals.Event(onePartition, r.Event.EventType, r.Event.ElementID, 1)
					e := r.Event
					rollups.Event(onePartition, e.Timestamp, e.EventType, e.Page, e.ElementID, e.SourceID, 1)
					active.Event(onePartition, e.Timestamp, e.EventType, e.UserID, 1)
					uniques.Event(onePartition, e.Timestamp, e.EventType, e.UserID, e.SessionID)
				}
				if e := r.Event; e.SourceID != "" {
					switch {
					case n == 1:
						counted.Stored(storedAt, r.Message.Partition, e.SourceID, e.StreamID, e.Seq, r.Delivery)
					case inserted[i].Conflict == "":
						counted.Duplicate(storedAt, r.Message.Partition, e.SourceID)
					}
				}
				if inserted[i].Conflict != "" {
					continue
				}
			}
			args, err := messageArgs(&r.Message, now)
			if err == nil {
				n, err = execCount(msg, args)
			}
			if err == nil && n == 1 {
				totals.Message(onePartition, r.Message.Status, r.Message.DurationMS, 1)
			}
			if err == nil && n == 0 && r.Message.Status == event.StatusCompleted {
				err = replaceUnfinished(tx, args, &r.Message, &totals)
			}
			if err != nil {
				_ = tx.Rollback()
				return nil, d.fail(fmt.Sprintf("write batch: message %q", r.Message.EventID), err)
			}
			if r.Event == nil {
				inserted[i].New = n == 1
			}
		}
		out[b] = inserted
	}
	// Every record moves the positions on, the suppressed ones too: the
	// consumer commits past them, and a position behind the committed
	// offset would say the database lost records.
	if err := writePositions(tx, batches); err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	// Every record that had failed once is finished: the suppressed and
	// conflicting ones too, whose dead letter or row says the rest.
	if err := deleteRetries(tx, batches); err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	if err := d.writeSeries(tx, &added); err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	if err := writeLedger(tx, storedAt, &counted); err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	if err := writeTotals(tx, &totals); err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	if err := d.writeRollups(tx, rollups); err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	if err := d.writeActivity(tx, &active); err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	if keyed {
		end, err := nextEventID(tx)
		if err == nil && end > firstID {
			err = countProperties(tx, 1, firstID, end, `k.removed = 0`)
		}
		if err != nil {
			_ = tx.Rollback()
			return nil, d.fail("write batch", err)
		}
	}
	if err := d.writeUniques(tx, uniques); err != nil {
		_ = tx.Rollback()
		return nil, d.fail("write batch", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, d.fail("write batch: commit", err)
	}
	d.commits.Add(1)
	var n int64
	for _, batch := range batches {
		n += int64(len(batch))
	}
	d.written.Add(n)
	return out, nil
}

// replaceUnfinished replaces the stored message row of m's event_id with
// m, a completion, when the stored one did not complete (a dead letter
// replayed), and moves the totals from the old status to the new. Rare:
// only a message whose event_id has a row already gets here.
func replaceUnfinished(tx *sql.Tx, args []any, m *event.Message, totals *store.TotalsDelta) error {
	var (
		old   string
		oldMS float64
	)
	err := tx.QueryRow(`SELECT status, duration_ms FROM messages WHERE event_id = ?`, m.EventID).Scan(&old, &oldMS)
	if err != nil || event.Status(old) == event.StatusCompleted {
		return err
	}
	if _, err := tx.Exec(replaceMessageSQL, args...); err != nil {
		return err
	}
	totals.Message(onePartition, event.Status(old), oldMS, -1)
	totals.Message(onePartition, m.Status, m.DurationMS, 1)
	return nil
}

// onePartition is the partition of every running total and rollup row
// SQLite keeps. Rows per partition keep PostgreSQL's writers of different
// partitions off each other's rows; SQLite has one writer, and one row
// instead of three is a third of the upserts when a group commit holds
// the batches of three members.
const onePartition int32 = 0

// writeTotals adds a transaction's changes to the running totals: a few
// rows per batch, whatever its size.
func writeTotals(tx *sql.Tx, d *store.TotalsDelta) error {
	for _, k := range d.Rows() {
		if _, err := tx.Exec(`INSERT INTO totals ("partition", kind, key, n, ms) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT ("partition", kind, key) DO UPDATE SET n = n + excluded.n, ms = ms + excluded.ms`,
			k.Partition, k.Kind, k.Key, d.N[k], d.MS[k]); err != nil {
			return fmt.Errorf("totals: %w", err)
		}
	}
	return nil
}

// conflictOf reads back the stored event with e's event_id and returns
// where it came from when its content differs from e's, or "".
func conflictOf(tx *sql.Tx, e *event.Event, timeFilled bool) (string, error) {
	var (
		st    store.StoredEvent
		props sql.NullString
		ts    int64
	)
	err := tx.QueryRow(`SELECT event_id, user_id, event_type, element_id, session_id, page, message,
		properties, delay_seconds, should_fail, timestamp, topic, "partition", "offset", source_id, anonymous_id
		FROM events WHERE event_id = ?`, e.EventID).Scan(
		&st.Event.EventID, &st.Event.UserID, &st.Event.EventType, &st.Event.ElementID, &st.Event.SessionID,
		&st.Event.Page, &st.Event.Message, &props, &st.Event.DelaySeconds, &st.Event.ShouldFail, &ts,
		&st.Topic, &st.Partition, &st.Offset, &st.Event.SourceID, &st.Event.AnonymousID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil // not an event conflict (a message row only)
	}
	if err != nil {
		return "", fmt.Errorf("read back: %w", err)
	}
	if props.Valid {
		st.Event.Properties = []byte(props.String)
	}
	st.Event.Timestamp = fromMicros(ts)
	if store.SameContent(&st, e, timeFilled) {
		return "", nil
	}
	return st.Origin(), nil
}

func execCount(s *sql.Stmt, args []any) (int64, error) {
	res, err := s.Exec(args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func eventArgs(r *store.Record, now int64) []any {
	e := r.Event
	var props any
	if len(e.Properties) > 0 {
		props = string(e.Properties)
	}
	return []any{
		e.EventID, e.UserID, e.EventType, e.ElementID, e.SessionID, e.Page, e.Message,
		props, e.DelaySeconds, e.ShouldFail, micros(e.Timestamp),
		string(r.Message.Source), r.Message.Topic, r.Message.Partition, r.Message.Offset,
		r.Message.RequestID, now,
		e.SourceID, e.AnonymousID,
	}
}

func messageArgs(m *event.Message, now int64) ([]any, error) {
	attempts, err := store.AttemptsJSON(m.Attempts)
	if err != nil {
		return nil, err
	}
	return []any{
		m.EventID, m.EventType, m.UserID, m.ElementID, string(m.Status), string(m.Source),
		m.ConsumerID, m.Topic, m.Partition, m.Offset, m.RequestID, micros(m.QueuedAt),
		nullMicros(m.StartedAt), nullMicros(m.CompletedAt), m.DurationMS, m.Retries,
		nullMicros(m.NextRetryAt), m.Error, nullMicros(m.FetchedAt), attempts, m.ReplayOf, now,
	}, nil
}

// micros is the stored form of a time: unix microseconds, UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}
