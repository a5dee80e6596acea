package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

const eventColumns = `id, event_id, user_id, event_type, element_id, session_id, page,
	message, properties, delay_seconds, should_fail, timestamp, source,
	"partition", "offset", created_at, source_id, anonymous_id`

const messageColumns = `id, event_id, event_type, user_id, element_id, status, source,
	consumer_id, topic, "partition", "offset", request_id, queued_at, started_at,
	completed_at, duration_ms, retries, next_retry_at, error, fetched_at, attempts,
	replay_of, created_at`

// LatestEvents returns the newest events, newest first.
func (d *DB) LatestEvents(ctx context.Context, limit int) ([]event.Stored, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.r.QueryContext(ctx,
		`SELECT `+eventColumns+` FROM events ORDER BY id DESC LIMIT ?`, store.ClampLimit(limit))
	if err != nil {
		return nil, d.fail("latest events", err)
	}
	defer rows.Close()
	out := make([]event.Stored, 0, 16)
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, d.fail("latest events", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("latest events", err)
	}
	return out, nil
}

// Messages returns processing-log rows, newest first.
func (d *DB) Messages(ctx context.Context, f store.MessageFilter) ([]event.Message, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	var (
		where []string
		args  []any
	)
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.Source != "" {
		where = append(where, "source = ?")
		args = append(args, string(f.Source))
	}
	if f.EventID != "" {
		where = append(where, "event_id = ?")
		args = append(args, f.EventID)
	}
	q := `SELECT ` + messageColumns + ` FROM messages`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, store.ClampLimit(f.Limit))
	rows, err := d.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, d.fail("messages", err)
	}
	defer rows.Close()
	out := make([]event.Message, 0, 16)
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, d.fail("messages", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("messages", err)
	}
	return out, nil
}

// Totals reads the aggregates from the running totals and the recent
// events from the series, in one consistent snapshot: rows per total and
// per 10 s bucket of the last minutes, never the events themselves.
func (d *DB) Totals(ctx context.Context, recentSince time.Time) (store.Totals, error) {
	t := store.NewTotals()
	if d.closed.Load() {
		return t, store.ErrClosed
	}
	// A read transaction sees one WAL snapshot, so the queries agree with
	// each other even while batches commit.
	tx, err := d.r.BeginTx(ctx, nil)
	if err != nil {
		return t, d.fail("totals", err)
	}
	defer func() { _ = tx.Rollback() }()

	err = eachRow(ctx, tx, `SELECT kind, key, sum(n), sum(ms) FROM totals GROUP BY kind, key`, nil,
		func(rows *sql.Rows) error {
			var kind, key string
			var n int64
			var ms float64
			if err := rows.Scan(&kind, &key, &n, &ms); err != nil {
				return err
			}
			t.AddRow(kind, key, n, ms)
			return nil
		})
	if err != nil {
		return t, d.fail("totals", err)
	}
	// The events stored since recentSince, to the series' 10 s: the
	// bucket holding recentSince counts whole.
	err = tx.QueryRowContext(ctx, `SELECT coalesce(sum(events), 0) FROM series_events WHERE bucket >= ?`,
		series.BucketOf(recentSince)).Scan(&t.Recent)
	if err != nil {
		return t, d.fail("totals: recent", err)
	}
	return t, nil
}

func eachRow(ctx context.Context, tx *sql.Tx, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// scanner is a *sql.Rows or a *sql.Row.
type scanner interface {
	Scan(dest ...any) error
}

// scanEvent reads a row of eventColumns.
func scanEvent(row scanner) (event.Stored, error) {
	var (
		s           event.Stored
		props       sql.NullString
		ts, created int64
		source      string
	)
	if err := row.Scan(&s.ID, &s.EventID, &s.UserID, &s.EventType, &s.ElementID,
		&s.SessionID, &s.Page, &s.Message, &props, &s.DelaySeconds, &s.ShouldFail,
		&ts, &source, &s.Partition, &s.Offset, &created, &s.SourceID, &s.AnonymousID); err != nil {
		return s, err
	}
	if props.Valid {
		s.Properties = []byte(props.String)
	}
	s.Timestamp = fromMicros(ts)
	s.Source = event.Source(source)
	s.CreatedAt = fromMicros(created)
	return s, nil
}

// scanMessage reads a row of messageColumns.
func scanMessage(row scanner) (event.Message, error) {
	var (
		m                                    event.Message
		status, source                       string
		queued, created                      int64
		started, completed, nextTry, fetched sql.NullInt64
		attempts                             sql.NullString
	)
	if err := row.Scan(&m.ID, &m.EventID, &m.EventType, &m.UserID, &m.ElementID,
		&status, &source, &m.ConsumerID, &m.Topic, &m.Partition, &m.Offset,
		&m.RequestID, &queued, &started, &completed, &m.DurationMS, &m.Retries,
		&nextTry, &m.Error, &fetched, &attempts, &m.ReplayOf, &created); err != nil {
		return m, err
	}
	var err error
	if m.Attempts, err = store.ParseAttempts(attempts); err != nil {
		return m, err
	}
	m.Status = event.Status(status)
	m.Source = event.Source(source)
	m.QueuedAt = fromMicros(queued)
	m.StartedAt = fromNullMicros(started)
	m.CompletedAt = fromNullMicros(completed)
	m.NextRetryAt = fromNullMicros(nextTry)
	m.FetchedAt = fromNullMicros(fetched)
	stored := fromMicros(created)
	m.StoredAt = &stored
	return m, nil
}
