package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

var _ store.Explorer = (*DB)(nil)

// bucketBits is the width of the id buckets that the user and session
// indexes lead with: (id >> bucketBits, user_id, id) (migration 00003).
// It must match the migration's expression for the planner to use them.
const bucketBits = 14

// maxBuckets bounds the buckets one page of a user or session search
// probes (8.4 M ids), so a page costs the same at any table size; a page
// that stops there may be short, and its cursor says where to go on.
const maxBuckets = 512

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
	// Read once: both the window and the bucket walk may need it.
	top := int64(-1)
	maxID := func() (int64, error) {
		if top >= 0 {
			return top, nil
		}
		err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&top)
		return top, err
	}
	hi, lo, err := q.Bounds(maxID)
	if err != nil {
		return nil, 0, d.fail("search events", err)
	}
	var out []event.Stored
	var next int64
	if q.UserID != "" || q.SessionID != "" {
		out, next, err = searchBuckets(ctx, tx, q, where, args, hi, lo, limit, maxID)
	} else {
		out, next, err = searchRange(ctx, tx, where, args, hi, lo, limit)
	}
	if err != nil {
		return nil, 0, d.fail("search events", err)
	}
	if next != 0 || lo <= 0 {
		return out, next, nil
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

// searchRange reads one page of the events in lo <= id < hi (0: unbounded)
// that match where, by the rowid or the event_type index. next is the
// cursor when the page is full, else 0.
func searchRange(ctx context.Context, tx *sql.Tx, where []string, args []any, hi, lo int64, limit int) (out []event.Stored, next int64, err error) {
	if hi > 0 {
		where = append(where, "id < ?")
		args = append(args, hi)
	}
	if lo > 0 {
		where = append(where, "id >= ?")
		args = append(args, lo)
	}
	query := `SELECT ` + eventColumns + ` FROM events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ?`
	rows, err := tx.QueryContext(ctx, query, append(args, limit+1)...)
	if err != nil {
		return nil, 0, err
	}
	if out, err = appendEvents(make([]event.Stored, 0, min(limit, 64)), rows); err != nil {
		return nil, 0, err
	}
	if len(out) > limit {
		out = out[:limit]
		return out, out[limit-1].ID, nil
	}
	return out, 0, nil
}

// searchBuckets reads one page of a search by user or session: it probes
// the id buckets of the bucketed index newest first, each an index range
// scan, until the page is full, lo is passed, or maxBuckets were probed.
// next is the cursor when there may be more (a full page, or a stop at
// maxBuckets), else 0.
func searchBuckets(ctx context.Context, tx *sql.Tx, q store.EventQuery, where []string, args []any, hi, lo int64, limit int, maxID func() (int64, error)) (out []event.Stored, next int64, err error) {
	top, err := maxID()
	if err != nil {
		return nil, 0, err
	}
	// A cursor past the newest row would walk empty buckets.
	if hi <= 0 || hi > top+1 {
		hi = top + 1
	}
	index := "events_bucket_user_id"
	if q.UserID == "" {
		index = "events_bucket_session_id"
	}
	where = append([]string{"(id >> " + strconv.Itoa(bucketBits) + ") = ?"}, where...)
	where = append(where, "id < ?")
	args = append(args, hi)
	if lo > 0 {
		where = append(where, "id >= ?")
		args = append(args, lo)
	}
	stmt, err := tx.PrepareContext(ctx, `SELECT `+eventColumns+` FROM events INDEXED BY `+index+
		` WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`)
	if err != nil {
		return nil, 0, err
	}
	defer stmt.Close()
	probe := make([]any, 0, len(args)+2)
	first, last := (hi-1)>>bucketBits, lo>>bucketBits
	for b := first; b >= last; b-- {
		if first-b == maxBuckets {
			return out, (b + 1) << bucketBits, nil
		}
		probe = append(append(append(probe[:0], b), args...), limit+1-len(out))
		rows, err := stmt.QueryContext(ctx, probe...)
		if err != nil {
			return nil, 0, err
		}
		if out, err = appendEvents(out, rows); err != nil {
			return nil, 0, err
		}
		if len(out) > limit {
			out = out[:limit]
			return out, out[limit-1].ID, nil
		}
	}
	return out, 0, nil
}

// appendEvents appends the events rows reads to out and closes rows.
func appendEvents(out []event.Stored, rows *sql.Rows) ([]event.Stored, error) {
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
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
		// Not finished: a retry no member has taken up yet (its owner
		// crashed) is still a message with a timeline.
		r, err := retryOf(ctx, tx, eventID)
		if errors.Is(err, sql.ErrNoRows) {
			return event.Message{}, nil, store.ErrNotFound
		}
		if err != nil {
			return event.Message{}, nil, d.fail("message "+eventID+": retry", err)
		}
		return r.Message(), nil, nil
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
