package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
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

// Totals computes the aggregates from one consistent snapshot.
func (d *DB) Totals(ctx context.Context, recentSince time.Time) (store.Totals, error) {
	t := store.Totals{
		EventTypes: map[string]int64{},
		Clicks:     map[string]int64{},
		Messages:   map[event.Status]int64{},
	}
	if d.closed.Load() {
		return t, store.ErrClosed
	}
	// A read transaction sees one WAL snapshot, so the three queries agree
	// with each other even while batches commit.
	tx, err := d.r.BeginTx(ctx, nil)
	if err != nil {
		return t, d.fail("totals", err)
	}
	defer func() { _ = tx.Rollback() }()

	err = eachRow(ctx, tx, `SELECT event_type, count(*), coalesce(sum(created_at >= ?), 0)
		FROM events GROUP BY event_type`, []any{micros(recentSince)},
		func(rows *sql.Rows) error {
			var typ string
			var n, recent int64
			if err := rows.Scan(&typ, &n, &recent); err != nil {
				return err
			}
			t.EventTypes[typ] = n
			t.Events += n
			t.Recent += recent
			return nil
		})
	if err != nil {
		return t, d.fail("totals: events", err)
	}
	err = eachRow(ctx, tx, `SELECT element_id, count(*) FROM events
		WHERE event_type = ? GROUP BY element_id`, []any{event.TypeButtonClick},
		func(rows *sql.Rows) error {
			var el string
			var n int64
			if err := rows.Scan(&el, &n); err != nil {
				return err
			}
			t.Clicks[el] = n
			return nil
		})
	if err != nil {
		return t, d.fail("totals: clicks", err)
	}
	err = eachRow(ctx, tx, `SELECT status, count(*), coalesce(sum(duration_ms), 0)
		FROM messages GROUP BY status`, nil,
		func(rows *sql.Rows) error {
			var st string
			var n int64
			var ms float64
			if err := rows.Scan(&st, &n, &ms); err != nil {
				return err
			}
			t.Messages[event.Status(st)] = n
			if event.Status(st) == event.StatusCompleted {
				t.ProcessingCount = n
				t.ProcessingMSSum = ms
			}
			return nil
		})
	if err != nil {
		return t, d.fail("totals: messages", err)
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
