package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
	// Repeatable read: the window's bounds and its rows come from one
	// snapshot.
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, d.fail("search events", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, f := range []struct{ col, val string }{
		{"user_id", q.UserID}, {"event_type", q.EventType},
		{"element_id", q.ElementID}, {"session_id", q.SessionID},
	} {
		if f.val != "" {
			where = append(where, f.col+" = "+arg(clean(f.val)))
		}
	}
	if !q.From.IsZero() {
		where = append(where, `"timestamp" >= `+arg(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, `"timestamp" < `+arg(q.To))
	}
	if q.Text != "" {
		// ILIKE, so that case is ignored as SQLite's LIKE ignores it.
		p := arg(store.LikePattern(clean(q.Text)))
		where = append(where, `(element_id ILIKE `+p+` ESCAPE '\' OR page ILIKE `+p+
			` ESCAPE '\' OR message ILIKE `+p+` ESCAPE '\')`)
	}
	hi, lo, err := q.Bounds(func() (int64, error) {
		var m int64
		err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&m)
		return m, err
	})
	if err != nil {
		return nil, 0, d.fail("search events", err)
	}
	if hi > 0 {
		where = append(where, "id < "+arg(hi))
	}
	if lo > 0 {
		where = append(where, "id >= "+arg(lo))
	}
	query := `SELECT ` + eventColumns + ` FROM events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ` + arg(limit+1)
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, 0, d.fail("search events", err)
	}
	out, err := collectEvents(rows, min(limit, 64))
	if err != nil {
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
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id < $1)`, lo).Scan(&older); err != nil {
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
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return event.Message{}, nil, d.fail("message", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	id := clean(eventID)
	rows, _ := tx.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE event_id = $1`, id)
	msgs, err := collectMessages(rows)
	if err != nil {
		return event.Message{}, nil, d.fail("message "+eventID, err)
	}
	if len(msgs) == 0 {
		// Not finished: a retry no member has taken up yet (its owner
		// crashed) is still a message with a timeline.
		rows, _ = tx.Query(ctx, `SELECT `+retryColumns+` FROM retries WHERE event_id = $1
			ORDER BY updated_at DESC LIMIT 1`, id)
		rs, err := collectRetries(rows)
		if err != nil {
			return event.Message{}, nil, d.fail("message "+eventID+": retry", err)
		}
		if len(rs) == 0 {
			return event.Message{}, nil, store.ErrNotFound
		}
		return rs[0].Message(), nil, nil
	}
	rows, _ = tx.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE event_id = $1`, id)
	events, err := collectEvents(rows, 1)
	if err != nil {
		return event.Message{}, nil, d.fail("message "+eventID+": event", err)
	}
	if len(events) == 0 {
		return msgs[0], nil, nil
	}
	return msgs[0], &events[0], nil
}
