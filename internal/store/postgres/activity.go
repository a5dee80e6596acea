package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// FirstSeenBetween reads the users first seen in [from, to) through the
// first_seen_at index.
func (d *DB) FirstSeenBetween(ctx context.Context, from, to time.Time, fn func(store.FirstSeen) error) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	// A user's rows of other partitions may be earlier: such a user was
	// first seen before from.
	rows, err := d.pool.Query(ctx, `SELECT f.user_id, min(f.at) FROM first_seen f
		WHERE f.user_id IN (SELECT user_id FROM first_seen WHERE at >= $1 AND at < $2)
		GROUP BY f.user_id HAVING min(f.at) >= $1`, from, to)
	if err != nil {
		return d.fail("first seen", err)
	}
	var f store.FirstSeen
	_, err = pgx.ForEachRow(rows, []any{&f.UserID, &f.At}, func() error {
		f.At = f.At.UTC()
		return fn(f)
	})
	if err != nil {
		return d.fail("first seen", err)
	}
	return nil
}

// ActiveUsers reads the activity rows of the days through the primary
// key.
func (d *DB) ActiveUsers(ctx context.Context, eventType string, fromDay, toDay int64, fn func(store.ActiveUser) error) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT DISTINCT day, user_id FROM activity
		WHERE day >= $2 AND day < $3 AND ($1 = '' OR event_type = $1) AND events > 0`, eventType, fromDay, toDay)
	if err != nil {
		return d.fail("active users", err)
	}
	var u store.ActiveUser
	_, err = pgx.ForEachRow(rows, []any{&u.Day, &u.UserID}, func() error { return fn(u) })
	if err != nil {
		return d.fail("active users", err)
	}
	return nil
}
