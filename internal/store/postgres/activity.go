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

// spanFromSQL and spanBitSQL are the span of active_spans that holds the
// day in column "day" (its first day, a multiple of store.ActiveDaysSpan)
// and the day's bit in it, for any day, before 1970 too.
const (
	spanFromSQL = `day - ((day % 63) + 63) % 63`
	spanBitSQL  = `1::int8 << (((day % 63) + 63) % 63)::int4`
)

// ActiveUsers reads the users' days from active_spans, a row per user,
// type and partition in each span of 63 days (not one per day, as in
// activity), through its primary key, and ORs each user's rows of a span
// together, so that PostgreSQL sends a row per user and span.
func (d *DB) ActiveUsers(ctx context.Context, eventType string, fromDay, toDay int64, fn func(store.ActiveDays) error) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	if fromDay >= toDay {
		return nil
	}
	// Planned with the values each time, never from the statement cache:
	// a generic plan guesses how many rows a range of spans holds. The
	// aggregate holds a row per user and span; the transaction gives it
	// room (the default work_mem would spill 100,000 users to disk) and
	// turns off JIT, which compiled the query for longer than it saves.
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return d.fail("active users", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '64MB'; SET LOCAL jit = off`); err != nil {
		return d.fail("active users", err)
	}
	rows, err := tx.Query(ctx, `SELECT user_id, span_from, bit_or(days) FROM active_spans
		WHERE span_from >= $2 AND span_from < $3 AND ($1 = '' OR event_type = $1)
		GROUP BY user_id, span_from`, pgx.QueryExecModeExec, eventType, spanFrom(fromDay), toDay)
	if err != nil {
		return d.fail("active users", err)
	}
	var (
		u    store.ActiveDays
		days int64
	)
	_, err = pgx.ForEachRow(rows, []any{&u.UserID, &u.From, &days}, func() error {
		// A span that starts before fromDay or ends after toDay holds
		// days outside the range asked.
		u.Days = uint64(days) & daysBetween(u.From, fromDay, toDay)
		if u.Days == 0 {
			return nil
		}
		return fn(u)
	})
	if err != nil {
		return d.fail("active users", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return d.fail("active users", err)
	}
	return nil
}

// spanFrom is the first day of the span of active_spans that holds day
// (spanFromSQL).
func spanFrom(day int64) int64 {
	return day - ((day%store.ActiveDaysSpan)+store.ActiveDaysSpan)%store.ActiveDaysSpan
}

// daysBetween is the bits of a span from spanFrom whose days are in
// [fromDay, toDay).
func daysBetween(spanFrom, fromDay, toDay int64) uint64 {
	lo := max(fromDay-spanFrom, 0)
	hi := min(toDay-spanFrom, store.ActiveDaysSpan)
	if lo >= hi {
		return 0
	}
	return (uint64(1)<<hi - 1) &^ (uint64(1)<<lo - 1)
}

// UserProfile reads a user's page: the first seen, the activity of the
// user's days and the latest events (store.ReadUserProfile).
func (d *DB) UserProfile(ctx context.Context, userID string, now time.Time) (store.UserProfile, error) {
	if d.closed.Load() {
		return store.UserProfile{}, store.ErrClosed
	}
	return store.ReadUserProfile(ctx, d, userID, now, d.userActivity)
}

// userActivity reads the user's first seen and, from one snapshot, the
// activity of each day of store.UserDaySpan: one descent of the
// activity's primary key (day, user_id, ...) per day of the array, never
// the other users' rows.
func (d *DB) userActivity(ctx context.Context, userID string, now time.Time) (store.UserActivity, error) {
	var a store.UserActivity
	userID = clean(userID) // as stored
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return a, d.fail("user activity", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var first *time.Time
	if err := tx.QueryRow(ctx, `SELECT min(at) FROM first_seen WHERE user_id = $1`, userID).Scan(&first); err != nil {
		return a, d.fail("user first seen", err)
	}
	if first == nil {
		return a, nil
	}
	a.FirstSeen = first.UTC()
	from, to := store.UserDaySpan(a.FirstSeen, now)
	days := make([]int64, 0, max(0, to-from+1))
	for day := from; day <= to; day++ {
		days = append(days, day)
	}
	rows, err := tx.Query(ctx, `SELECT day, event_type, sum(events)::int8 FROM activity
		WHERE day = ANY($1) AND user_id = $2 GROUP BY day, event_type`, days, userID)
	if err != nil {
		return a, d.fail("user activity", err)
	}
	var r store.UserActivityRow
	_, err = pgx.ForEachRow(rows, []any{&r.Day, &r.EventType, &r.Events}, func() error {
		a.Rows = append(a.Rows, r)
		return nil
	})
	if err != nil {
		return a, d.fail("user activity", err)
	}
	return a, nil
}
