package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

const addActivitySQL = `INSERT INTO activity (day, user_id, event_type, "partition", events) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (day, user_id, event_type, "partition") DO UPDATE SET events = events + excluded.events`

// A user's first seen moves only earlier (a late event); otherwise the
// row is read, not written.
const addFirstSeenSQL = `INSERT INTO first_seen (user_id, "partition", at) VALUES (?, ?, ?)
ON CONFLICT (user_id, "partition") DO UPDATE SET at = excluded.at WHERE excluded.at < first_seen.at`

// writeActivity adds a transaction's changes to the activity and the
// first seen. Rows retention emptied are deleted.
func (d *DB) writeActivity(tx *sql.Tx, a *store.ActivityDelta) error {
	add := tx.Stmt(d.addActivity)
	var emptied []store.ActivityKey
	for _, k := range a.Rows() {
		n := a.Events[k]
		if _, err := add.Exec(k.Day, k.UserID, k.EventType, k.Partition, n); err != nil {
			return fmt.Errorf("activity: %w", err)
		}
		if n < 0 {
			emptied = append(emptied, k)
		}
	}
	for _, k := range emptied {
		if _, err := tx.Exec(`DELETE FROM activity WHERE day = ? AND user_id = ? AND event_type = ? AND "partition" = ?
			AND events <= 0`, k.Day, k.UserID, k.EventType, k.Partition); err != nil {
			return fmt.Errorf("activity: %w", err)
		}
	}
	first := tx.Stmt(d.addFirstSeen)
	for _, k := range a.Firsts() {
		if _, err := first.Exec(k.UserID, k.Partition, a.First[k]); err != nil {
			return fmt.Errorf("first seen: %w", err)
		}
	}
	return nil
}

// FirstSeenBetween reads the users first seen in [from, to) through the
// first_seen_at index.
func (d *DB) FirstSeenBetween(ctx context.Context, from, to time.Time, fn func(store.FirstSeen) error) error {
	if err := d.usable(); err != nil {
		return err
	}
	// A user's rows of other partitions may be earlier: such a user was
	// first seen before from.
	rows, err := d.r.QueryContext(ctx, `SELECT f.user_id, min(f.at) FROM first_seen f
		WHERE f.user_id IN (SELECT user_id FROM first_seen WHERE at >= ? AND at < ?)
		GROUP BY f.user_id HAVING min(f.at) >= ?`, micros(from), micros(to), micros(from))
	if err != nil {
		return d.fail("first seen", err)
	}
	defer rows.Close()
	var (
		f  store.FirstSeen
		us int64
	)
	for rows.Next() {
		if err := rows.Scan(&f.UserID, &us); err != nil {
			return d.fail("first seen", err)
		}
		f.At = fromMicros(us)
		if err := fn(f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return d.fail("first seen", err)
	}
	return nil
}

// ActiveUsers reads the activity rows of the days through the primary
// key, a span of store.ActiveDaysSpan days at a time, and sums each
// user's distinct days of the span up as bits, so that SQLite hands over
// a row per user, not one per user and day.
func (d *DB) ActiveUsers(ctx context.Context, eventType string, fromDay, toDay int64, fn func(store.ActiveDays) error) error {
	if err := d.usable(); err != nil {
		return err
	}
	for from := fromDay; from < toDay; from += store.ActiveDaysSpan {
		if err := d.activeDays(ctx, eventType, from, min(toDay, from+store.ActiveDaysSpan), fn); err != nil {
			return err
		}
	}
	return nil
}

func (d *DB) activeDays(ctx context.Context, eventType string, fromDay, toDay int64, fn func(store.ActiveDays) error) error {
	// The days come distinct (a user's rows of a day are one per type) in
	// the key's order, so that their sum is their bits.
	rows, err := d.r.QueryContext(ctx, `SELECT user_id, sum(1 << (day - ?)) FROM (
			SELECT DISTINCT day, user_id FROM activity
			WHERE day >= ? AND day < ? AND (? = '' OR event_type = ?) AND events > 0)
		GROUP BY user_id`, fromDay, fromDay, toDay, eventType, eventType)
	if err != nil {
		return d.fail("active users", err)
	}
	defer rows.Close()
	u := store.ActiveDays{From: fromDay}
	var days int64
	for rows.Next() {
		if err := rows.Scan(&u.UserID, &days); err != nil {
			return d.fail("active users", err)
		}
		u.Days = uint64(days)
		if err := fn(u); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return d.fail("active users", err)
	}
	return nil
}

// UserProfile reads a user's page: the first seen, the activity of the
// user's days and the latest events (store.ReadUserProfile).
func (d *DB) UserProfile(ctx context.Context, userID string, now time.Time) (store.UserProfile, error) {
	if err := d.usable(); err != nil {
		return store.UserProfile{}, err
	}
	return store.ReadUserProfile(ctx, d, userID, now, d.userActivity)
}

// userActivity reads the user's first seen and, from one snapshot, the
// activity of each day of store.UserDaySpan: a lookup of (day, user_id)
// in the activity's primary key per day, never the other users' rows.
func (d *DB) userActivity(ctx context.Context, userID string, now time.Time) (store.UserActivity, error) {
	var a store.UserActivity
	tx, err := d.r.BeginTx(ctx, nil)
	if err != nil {
		return a, d.fail("user activity", err)
	}
	defer func() { _ = tx.Rollback() }()
	var first sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(at) FROM first_seen WHERE user_id = ?`, userID).Scan(&first); err != nil {
		return a, d.fail("user first seen", err)
	}
	if !first.Valid {
		return a, nil
	}
	a.FirstSeen = fromMicros(first.Int64)
	from, to := store.UserDaySpan(a.FirstSeen, now)
	rows, err := tx.QueryContext(ctx, `WITH RECURSIVE days(day) AS (
			SELECT ? WHERE ? <= ? UNION ALL SELECT day + 1 FROM days WHERE day < ?)
		SELECT a.day, a.event_type, sum(a.events) FROM days
		CROSS JOIN activity a ON a.day = days.day AND a.user_id = ?
		GROUP BY a.day, a.event_type`, from, from, to, to, userID)
	if err != nil {
		return a, d.fail("user activity", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.UserActivityRow
		if err := rows.Scan(&r.Day, &r.EventType, &r.Events); err != nil {
			return a, d.fail("user activity", err)
		}
		a.Rows = append(a.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return a, d.fail("user activity", err)
	}
	return a, nil
}
