package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

const eventColumns = `id, event_id, user_id, event_type, element_id, session_id, page,
	message, properties, delay_seconds, should_fail, "timestamp", source,
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
	rows, err := d.pool.Query(ctx,
		`SELECT `+eventColumns+` FROM events ORDER BY id DESC LIMIT $1`, store.ClampLimit(limit))
	if err != nil {
		return nil, d.fail("latest events", err)
	}
	out, err := collectEvents(rows, 16)
	if err != nil {
		return nil, d.fail("latest events", err)
	}
	return out, nil
}

// collectEvents reads rows of eventColumns.
func collectEvents(rows pgx.Rows, capacity int) ([]event.Stored, error) {
	out := make([]event.Stored, 0, capacity)
	var (
		s      event.Stored
		props  []byte
		source string
	)
	_, err := pgx.ForEachRow(rows, []any{&s.ID, &s.EventID, &s.UserID, &s.EventType, &s.ElementID,
		&s.SessionID, &s.Page, &s.Message, &props, &s.DelaySeconds, &s.ShouldFail,
		&s.Timestamp, &source, &s.Partition, &s.Offset, &s.CreatedAt, &s.SourceID, &s.AnonymousID}, func() error {
		e := s
		e.Properties = nil
		if props != nil {
			e.Properties = append([]byte(nil), props...)
		}
		e.Timestamp = e.Timestamp.UTC()
		e.CreatedAt = e.CreatedAt.UTC()
		e.Source = event.Source(source)
		out = append(out, e)
		return nil
	})
	return out, err
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
		args = append(args, string(f.Status))
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	if f.Source != "" {
		args = append(args, string(f.Source))
		where = append(where, fmt.Sprintf("source = $%d", len(args)))
	}
	if f.EventID != "" {
		args = append(args, f.EventID)
		where = append(where, fmt.Sprintf("event_id = $%d", len(args)))
	}
	q := `SELECT ` + messageColumns + ` FROM messages`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, store.ClampLimit(f.Limit))
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := d.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, d.fail("messages", err)
	}
	out, err := collectMessages(rows)
	if err != nil {
		return nil, d.fail("messages", err)
	}
	return out, nil
}

// collectMessages reads rows of messageColumns.
func collectMessages(rows pgx.Rows) ([]event.Message, error) {
	out := make([]event.Message, 0, 16)
	var (
		m                                    event.Message
		status, source                       string
		retries                              int32
		started, completed, nextTry, fetched *time.Time
		attempts                             sql.NullString
		created                              time.Time
	)
	_, err := pgx.ForEachRow(rows, []any{&m.ID, &m.EventID, &m.EventType, &m.UserID, &m.ElementID,
		&status, &source, &m.ConsumerID, &m.Topic, &m.Partition, &m.Offset,
		&m.RequestID, &m.QueuedAt, &started, &completed, &m.DurationMS, &retries,
		&nextTry, &m.Error, &fetched, &attempts, &m.ReplayOf, &created}, func() error {
		r := m
		var err error
		if r.Attempts, err = store.ParseAttempts(attempts); err != nil {
			return err
		}
		r.Status = event.Status(status)
		r.Source = event.Source(source)
		r.Retries = int(retries)
		r.QueuedAt = r.QueuedAt.UTC()
		r.StartedAt = utc(started)
		r.CompletedAt = utc(completed)
		r.NextRetryAt = utc(nextTry)
		r.FetchedAt = utc(fetched)
		r.StoredAt = utc(&created)
		out = append(out, r)
		return nil
	})
	return out, err
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Totals reads the aggregates from the running totals and the recent
// events from the series, in one snapshot: rows per total and per 10 s
// bucket of the last minutes, never the events themselves.
func (d *DB) Totals(ctx context.Context, recentSince time.Time) (store.Totals, error) {
	t := store.NewTotals()
	if d.closed.Load() {
		return t, store.ErrClosed
	}
	// Repeatable read gives the queries one snapshot, so they agree with
	// each other even while batches commit.
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return t, d.fail("totals", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	var (
		kind, key string
		n         int64
		ms        float64
	)
	rows, _ := tx.Query(ctx, `SELECT kind, key, sum(n)::int8, sum(ms) FROM totals GROUP BY kind, key`)
	if _, err := pgx.ForEachRow(rows, []any{&kind, &key, &n, &ms}, func() error {
		t.AddRow(kind, key, n, ms)
		return nil
	}); err != nil {
		return t, d.fail("totals", err)
	}
	// The events stored since recentSince, to the series' 10 s: the
	// bucket holding recentSince counts whole.
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(events), 0)::int8 FROM series_events WHERE bucket >= $1`,
		series.BucketOf(recentSince)).Scan(&t.Recent); err != nil {
		return t, d.fail("totals: recent", err)
	}
	return t, nil
}
