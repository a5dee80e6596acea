package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// A state replaces the stored one only with more retries: a late write of
// an earlier failure never sets the budget back.
const saveRetriesSQL = `INSERT INTO retries AS r (topic, "partition", "offset", event_id, retries,
	next_retry_at, attempts, consumer_id, queued_at, event_type, updated_at)
SELECT *, $11::timestamptz FROM unnest($1::text[], $2::int4[], $3::int8[], $4::text[], $5::int4[],
	$6::timestamptz[], $7::text[], $8::text[], $9::timestamptz[], $10::text[])
ON CONFLICT (topic, "partition", "offset") DO UPDATE SET
	event_id = excluded.event_id, retries = excluded.retries,
	next_retry_at = excluded.next_retry_at, attempts = excluded.attempts,
	consumer_id = excluded.consumer_id, queued_at = excluded.queued_at,
	event_type = excluded.event_type, updated_at = excluded.updated_at
WHERE excluded.retries > r.retries OR excluded.event_id <> r.event_id`

// deleteRetriesSQL deletes the retry rows of a batch's records that had
// failed once, in the batch's transaction: they are finished now.
const deleteRetriesSQL = `DELETE FROM retries r USING unnest($1::text[], $2::int4[], $3::int8[]) AS d(topic, part, off)
WHERE r.topic = d.topic AND r."partition" = d.part AND r."offset" = d.off`

// SaveRetries stores the states in one statement.
func (d *DB) SaveRetries(ctx context.Context, states []store.Retry) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	if len(states) == 0 {
		return nil
	}
	// One row per record: a repeated key in one INSERT ... ON CONFLICT
	// is an error, so only the state with the most retries is sent.
	last := make(map[[3]any]int, len(states))
	var keep []int
	for i := range states {
		s := &states[i]
		k := [3]any{s.Topic, s.Partition, s.Offset}
		if j, ok := last[k]; ok {
			if s.Retries > states[keep[j]].Retries {
				keep[j] = i
			}
			continue
		}
		last[k] = len(keep)
		keep = append(keep, i)
	}
	n := len(keep)
	topics, parts, offs := make([]string, n), make([]int32, n), make([]int64, n)
	ids, retries, nexts := make([]string, n), make([]int32, n), make([]time.Time, n)
	attempts, consumers := make([]sql.NullString, n), make([]string, n)
	queued, types := make([]time.Time, n), make([]string, n)
	for j, i := range keep {
		s := &states[i]
		a, err := store.AttemptsJSON(s.Attempts)
		if err != nil {
			return fmt.Errorf("save retry of %s/%d/%d: %w", s.Topic, s.Partition, s.Offset, err)
		}
		topics[j], parts[j], offs[j] = s.Topic, s.Partition, s.Offset
		ids[j], retries[j], nexts[j] = clean(s.EventID), int32(s.Retries), s.NextRetryAt
		attempts[j], consumers[j] = a, clean(s.ConsumerID)
		queued[j], types[j] = s.QueuedAt, clean(s.EventType)
	}
	if _, err := d.pool.Exec(ctx, saveRetriesSQL, topics, parts, offs, ids, retries, nexts, attempts, consumers, queued, types, time.Now()); err != nil {
		return d.fail("save retries", err)
	}
	return nil
}

// PendingRetries returns the retry states of topic's partition at or
// above from and deletes those below it.
func (d *DB) PendingRetries(ctx context.Context, topic string, partition int32, from int64) ([]store.Retry, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	if _, err := d.pool.Exec(ctx, `DELETE FROM retries WHERE topic = $1 AND "partition" = $2 AND "offset" < $3`,
		topic, partition, from); err != nil {
		return nil, d.fail("pending retries: drop those committed past", err)
	}
	rows, _ := d.pool.Query(ctx, `SELECT `+retryColumns+`
		FROM retries WHERE topic = $1 AND "partition" = $2 ORDER BY "offset"`, topic, partition)
	out, err := collectRetries(rows)
	if err != nil {
		return nil, d.fail("pending retries", err)
	}
	return out, nil
}

const retryColumns = `topic, "partition", "offset", event_id, retries, next_retry_at, attempts,
	consumer_id, queued_at, event_type, updated_at`

// collectRetries reads rows of retryColumns.
func collectRetries(rows pgx.Rows) ([]store.Retry, error) {
	var (
		out      []store.Retry
		s        store.Retry
		retries  int32
		attempts sql.NullString
	)
	_, err := pgx.ForEachRow(rows, []any{&s.Topic, &s.Partition, &s.Offset, &s.EventID, &retries, &s.NextRetryAt,
		&attempts, &s.ConsumerID, &s.QueuedAt, &s.EventType, &s.UpdatedAt}, func() error {
		r := s
		r.Retries = int(retries)
		r.NextRetryAt, r.QueuedAt, r.UpdatedAt = r.NextRetryAt.UTC(), r.QueuedAt.UTC(), r.UpdatedAt.UTC()
		var err error
		if r.Attempts, err = store.ParseAttempts(attempts); err != nil {
			return fmt.Errorf("%s/%d/%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// retryDoneArrays are deleteRetriesSQL's arguments for batch, nil when no
// record of it had failed once.
func retryDoneArrays(batch []store.Record) []any {
	var (
		topics []string
		parts  []int32
		offs   []int64
	)
	for i := range batch {
		if r := &batch[i]; store.RetryDone(r) {
			topics = append(topics, r.Message.Topic)
			parts = append(parts, r.Message.Partition)
			offs = append(offs, r.Message.Offset)
		}
	}
	if topics == nil {
		return nil
	}
	return []any{topics, parts, offs}
}

// Finished returns the processing-log rows stored for eventIDs.
func (d *DB) Finished(ctx context.Context, eventIDs []string) ([]store.Finished, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	if len(eventIDs) > store.MaxLimit {
		return nil, fmt.Errorf("finished messages: %d event ids, over the limit of %d", len(eventIDs), store.MaxLimit)
	}
	if len(eventIDs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(eventIDs))
	for i, id := range eventIDs {
		ids[i] = clean(id)
	}
	rows, _ := d.pool.Query(ctx, `SELECT event_id, status, topic, "partition", "offset", retries, attempts, completed_at
		FROM messages WHERE event_id = ANY($1)`, ids)
	var (
		out       []store.Finished
		f         store.Finished
		retries   int32
		attempts  sql.NullString
		completed *time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&f.EventID, &f.Status, &f.Topic, &f.Partition, &f.Offset, &retries, &attempts, &completed}, func() error {
		g := f
		g.Retries = int(retries)
		g.CompletedAt = utc(completed)
		var err error
		if g.Attempts, err = store.ParseAttempts(attempts); err != nil {
			return fmt.Errorf("%s: %w", g.EventID, err)
		}
		out = append(out, g)
		return nil
	}); err != nil {
		return nil, d.fail("finished messages", err)
	}
	return out, nil
}
