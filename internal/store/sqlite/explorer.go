package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

var _ store.Explorer = (*DB)(nil)

// SearchEvents returns one page of events matching q, newest first, and
// the cursor of the next page (0 when there is none). A query with a
// filter no index covers examines at most store.SearchWindow ids.
func (d *DB) SearchEvents(ctx context.Context, q store.EventQuery) ([]event.Stored, int64, error) {
	if d.closed.Load() {
		return nil, 0, store.ErrClosed
	}
	limit := store.ClampLimit(q.Limit)
	// One read transaction: the window's bounds and its rows come from one
	// snapshot.
	tx, err := d.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, d.fail("search events", err)
	}
	defer func() { _ = tx.Rollback() }()

	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	for _, f := range []struct{ col, val string }{
		{"user_id", q.UserID}, {"event_type", q.EventType},
		{"element_id", q.ElementID}, {"session_id", q.SessionID},
	} {
		if f.val != "" {
			add(f.col+" = ?", f.val)
		}
	}
	if !q.From.IsZero() {
		add("timestamp >= ?", micros(q.From))
	}
	if !q.To.IsZero() {
		add("timestamp < ?", micros(q.To))
	}
	if q.Text != "" {
		// SQLite's LIKE ignores ASCII case.
		p := store.LikePattern(q.Text)
		add(`(element_id LIKE ? ESCAPE '\' OR page LIKE ? ESCAPE '\' OR message LIKE ? ESCAPE '\')`, p, p, p)
	}
	hi, lo, err := q.Bounds(func() (int64, error) {
		var m int64
		err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&m)
		return m, err
	})
	if err != nil {
		return nil, 0, d.fail("search events", err)
	}
	if hi > 0 {
		add("id < ?", hi)
	}
	if lo > 0 {
		add("id >= ?", lo)
	}
	query := `SELECT ` + eventColumns + ` FROM events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, d.fail("search events", err)
	}
	defer rows.Close()
	out := make([]event.Stored, 0, min(limit, 64))
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, 0, d.fail("search events", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, d.fail("search events", err)
	}
	if len(out) > limit {
		out = out[:limit]
		return out, out[limit-1].ID, nil
	}
	if lo <= 0 {
		return out, 0, nil
	}
	// The window is done; older rows are the next page's.
	var older bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id < ?)`, lo).Scan(&older); err != nil {
		return nil, 0, d.fail("search events", err)
	}
	if older {
		return out, lo, nil
	}
	return out, 0, nil
}

// ExportEvents calls fn for every event matching q, newest first, a page
// at a time.
func (d *DB) ExportEvents(ctx context.Context, q store.EventQuery, fn func(event.Stored) error) error {
	return store.ExportAll(ctx, d, q, fn)
}

// Message returns the processing-log row of eventID and its stored event,
// if any, from one snapshot.
func (d *DB) Message(ctx context.Context, eventID string) (event.Message, *event.Stored, error) {
	if d.closed.Load() {
		return event.Message{}, nil, store.ErrClosed
	}
	tx, err := d.r.BeginTx(ctx, nil)
	if err != nil {
		return event.Message{}, nil, d.fail("message", err)
	}
	defer func() { _ = tx.Rollback() }()
	m, err := scanMessage(tx.QueryRowContext(ctx,
		`SELECT `+messageColumns+` FROM messages WHERE event_id = ?`, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return event.Message{}, nil, store.ErrNotFound
	}
	if err != nil {
		return event.Message{}, nil, d.fail("message "+eventID, err)
	}
	e, err := scanEvent(tx.QueryRowContext(ctx,
		`SELECT `+eventColumns+` FROM events WHERE event_id = ?`, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil, nil
	}
	if err != nil {
		return event.Message{}, nil, d.fail("message "+eventID+": event", err)
	}
	return m, &e, nil
}
