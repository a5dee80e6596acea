package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// A state replaces the stored one only with more retries: a late write of
// an earlier failure never sets the budget back.
const saveRetrySQL = `INSERT INTO retries (topic, "partition", "offset", event_id, retries,
	next_retry_at, attempts, consumer_id, queued_at, event_type, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (topic, "partition", "offset") DO UPDATE SET
	event_id = excluded.event_id, retries = excluded.retries,
	next_retry_at = excluded.next_retry_at, attempts = excluded.attempts,
	consumer_id = excluded.consumer_id, queued_at = excluded.queued_at,
	event_type = excluded.event_type, updated_at = excluded.updated_at
WHERE excluded.retries > retries.retries OR excluded.event_id <> retries.event_id`

const deleteRetrySQL = `DELETE FROM retries WHERE topic = ? AND "partition" = ? AND "offset" = ?`

// SaveRetries stores the states in one transaction.
func (d *DB) SaveRetries(ctx context.Context, states []store.Retry) error {
	if err := d.writable(); err != nil {
		return err
	}
	if len(states) == 0 {
		return nil
	}
	now := micros(time.Now())
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail("save retries: begin", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	for i := range states {
		s := &states[i]
		attempts, err := store.AttemptsJSON(s.Attempts)
		if err != nil {
			return fmt.Errorf("save retry of %s/%d/%d: %w", s.Topic, s.Partition, s.Offset, err)
		}
		if _, err := tx.ExecContext(ctx, saveRetrySQL, s.Topic, s.Partition, s.Offset, s.EventID, s.Retries,
			micros(s.NextRetryAt), attempts, s.ConsumerID, micros(s.QueuedAt), s.EventType, now); err != nil {
			return d.fail(fmt.Sprintf("save retry of %s/%d/%d", s.Topic, s.Partition, s.Offset), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return d.fail("save retries: commit", err)
	}
	return nil
}

// PendingRetries returns the retry states of topic's partition at or
// above from and deletes those below it.
func (d *DB) PendingRetries(ctx context.Context, topic string, partition int32, from int64) ([]store.Retry, error) {
	if err := d.writable(); err != nil {
		return nil, err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, d.fail("pending retries: begin", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, `DELETE FROM retries WHERE topic = ? AND "partition" = ? AND "offset" < ?`,
		topic, partition, from); err != nil {
		return nil, d.fail("pending retries: drop those committed past", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+retryColumns+`
		FROM retries WHERE topic = ? AND "partition" = ? ORDER BY "offset"`, topic, partition)
	if err != nil {
		return nil, d.fail("pending retries", err)
	}
	defer rows.Close()
	var out []store.Retry
	for rows.Next() {
		s, err := scanRetry(rows)
		if err != nil {
			return nil, d.fail("pending retries", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("pending retries", err)
	}
	rows.Close()
	if err := tx.Commit(); err != nil {
		return nil, d.fail("pending retries: commit", err)
	}
	return out, nil
}

const retryColumns = `topic, "partition", "offset", event_id, retries, next_retry_at, attempts,
	consumer_id, queued_at, event_type, updated_at`

// scanRetry reads a row of retryColumns.
func scanRetry(row interface{ Scan(...any) error }) (store.Retry, error) {
	var (
		s                     store.Retry
		next, queued, updated int64
		attempts              sql.NullString
	)
	if err := row.Scan(&s.Topic, &s.Partition, &s.Offset, &s.EventID, &s.Retries, &next, &attempts,
		&s.ConsumerID, &queued, &s.EventType, &updated); err != nil {
		return s, err
	}
	var err error
	if s.Attempts, err = store.ParseAttempts(attempts); err != nil {
		return s, fmt.Errorf("retry of %s/%d/%d: %w", s.Topic, s.Partition, s.Offset, err)
	}
	s.NextRetryAt, s.QueuedAt, s.UpdatedAt = fromMicros(next), fromMicros(queued), fromMicros(updated)
	return s, nil
}

// retryOf returns the retry state kept for eventID, for the timeline of
// a message no member holds (see Message).
func retryOf(ctx context.Context, tx *sql.Tx, eventID string) (store.Retry, error) {
	return scanRetry(tx.QueryRowContext(ctx, `SELECT `+retryColumns+` FROM retries WHERE event_id = ?
		ORDER BY updated_at DESC LIMIT 1`, eventID))
}

// deleteRetries deletes, in a batch's transaction, the retry rows of its
// records that had failed once: they are finished now.
func deleteRetries(tx *sql.Tx, batches [][]store.Record) error {
	for _, batch := range batches {
		for i := range batch {
			if r := &batch[i]; store.RetryDone(r) {
				m := &r.Message
				if _, err := tx.Exec(deleteRetrySQL, m.Topic, m.Partition, m.Offset); err != nil {
					return fmt.Errorf("retry of %s/%d/%d: %w", m.Topic, m.Partition, m.Offset, err)
				}
			}
		}
	}
	return nil
}

// Finished returns the processing-log rows stored for eventIDs.
func (d *DB) Finished(ctx context.Context, eventIDs []string) ([]store.Finished, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	if len(eventIDs) > store.MaxLimit {
		return nil, fmt.Errorf("finished messages: %d event ids, over the limit of %d", len(eventIDs), store.MaxLimit)
	}
	if len(eventIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(eventIDs))
	for i, id := range eventIDs {
		args[i] = id
	}
	q := `SELECT event_id, status, topic, "partition", "offset", retries, attempts, completed_at FROM messages WHERE event_id IN (?` +
		strings.Repeat(", ?", len(eventIDs)-1) + `)`
	rows, err := d.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, d.fail("finished messages", err)
	}
	defer rows.Close()
	var out []store.Finished
	for rows.Next() {
		var (
			f         store.Finished
			attempts  sql.NullString
			completed sql.NullInt64
		)
		if err := rows.Scan(&f.EventID, &f.Status, &f.Topic, &f.Partition, &f.Offset, &f.Retries, &attempts, &completed); err != nil {
			return nil, d.fail("finished messages", err)
		}
		f.CompletedAt = fromNullMicros(completed)
		if f.Attempts, err = store.ParseAttempts(attempts); err != nil {
			return nil, fmt.Errorf("finished messages: %s: %w", f.EventID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("finished messages", err)
	}
	return out, nil
}
