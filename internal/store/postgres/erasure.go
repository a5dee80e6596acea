package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pulse-dev/pulse/internal/store"
)

var _ store.Erasure = (*DB)(nil)

// EraseUser puts userID on the suppression list and deletes the user's
// rows in one transaction, through the (user_id, id) indexes of events
// and messages: its cost follows the user's rows. What they counted is
// taken off the aggregates as retention does. The sketches of distinct
// users cannot take an id off: as with retention, a bucket's sketch goes
// once no event of its type is left in it, and one that keeps other
// users' events keeps the user's hashed id in its registers until
// retention ends the bucket.
//
// It takes lockForDeletes' locks before it inserts the suppression row:
// SHARE ROW EXCLUSIVE on events waits for every Write in flight (each
// holds ROW EXCLUSIVE on events from its first statement, see
// checkSuppressed) and keeps new ones from checking the list until it
// commits, when they see the user on it.
func (d *DB) EraseUser(ctx context.Context, userID, by string) (store.Erased, error) {
	hash := store.UserHash(userID)
	if d.closed.Load() {
		return store.Erased{UserHash: hash}, store.ErrClosed
	}
	for attempt := 1; ; attempt++ {
		out, err := d.erase(ctx, userID, by)
		if err == nil {
			return out, nil
		}
		// It adds to the rollup rows the batches add to, and deletes the
		// sketches their writers lock: the server may abort it, having
		// changed nothing, to break a deadlock.
		if !retryable(err) || attempt == maxAttempts {
			return store.Erased{UserHash: hash}, d.fail("erase user", err)
		}
		if err := pause(ctx, attempt); err != nil {
			return store.Erased{UserHash: hash}, d.fail("erase user", err)
		}
	}
}

func (d *DB) erase(ctx context.Context, userID, by string) (store.Erased, error) {
	out := store.Erased{UserHash: store.UserHash(userID)}
	// As stored (see clean).
	user := clean(userID)
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return out, err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	if err := lockForDeletes(ctx, tx); err != nil {
		return out, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO suppressed_users (user_hash, erased_at, erased_by)
		VALUES ($1, now(), $2) ON CONFLICT (user_hash) DO NOTHING`, out.UserHash, clean(by))
	if err != nil {
		return out, err
	}
	out.Already = tag.RowsAffected() == 0
	// The first seen bounds the days of the user's activity; read before
	// its rows go.
	var first pgtype.Timestamptz
	if err := tx.QueryRow(ctx, `SELECT min(at) FROM first_seen WHERE user_id = $1`, user).Scan(&first); err != nil {
		return out, err
	}
	var g goneRows
	if err := tx.QueryRow(ctx, eraseEventsSQL, user).Scan(g.dest()...); err != nil {
		return out, fmt.Errorf("events: %w", err)
	}
	if err := g.clear(ctx, tx); err != nil {
		return out, fmt.Errorf("events: %w", err)
	}
	out.Events = g.n
	var m goneRows
	if err := tx.QueryRow(ctx, eraseMessagesSQL, user).Scan(m.dest()...); err != nil {
		return out, fmt.Errorf("messages: %w", err)
	}
	out.Messages = m.n
	// Taking the events off the activity emptied the user's rows; any row
	// that disagreed with the events goes too, probed day by day through
	// the key (day, user_id, ...) from the first seen day to tomorrow.
	if first.Valid {
		if _, err := tx.Exec(ctx, `DELETE FROM activity a USING generate_series($2::int8, $3::int8) AS d(day)
			WHERE a.day = d.day AND a.user_id = $1`,
			user, store.Day(first.Time), store.Day(time.Now())+1); err != nil {
			return out, fmt.Errorf("activity: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM active_spans a
			USING generate_series($2::int8, $3::int8, 63) AS s(span_from)
			WHERE a.span_from = s.span_from AND a.user_id = $1`,
			user, spanFrom(store.Day(first.Time)), store.Day(time.Now())+1); err != nil {
			return out, fmt.Errorf("active spans: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM first_seen WHERE user_id = $1`, user); err != nil {
		return out, fmt.Errorf("first seen: %w", err)
	}
	if err := eraseExamples(ctx, tx, user); err != nil {
		return out, err
	}
	if _, err := tx.Exec(ctx, `UPDATE suppressed_users SET events = events + $2, messages = messages + $3
		WHERE user_hash = $1`, out.UserHash, out.Events, out.Messages); err != nil {
		return out, err
	}
	return out, tx.Commit(ctx)
}

// eraseEventsSQL deletes the events of user $1 through events_user_id_id
// and takes them off the aggregates, as retention does a chunk.
var eraseEventsSQL = `WITH gone AS (
	DELETE FROM events WHERE user_id = $1
	` + takeOffEventsSQL

// eraseMessagesSQL deletes the processing-log rows of user $1 through
// messages_user_id_id and takes them off the totals.
const eraseMessagesSQL = `WITH gone AS (
	DELETE FROM messages WHERE user_id = $1
	` + takeOffMessagesSQL

// eraseExamples replaces the tracking-plan warnings' examples that hold
// user as a JSON string, plainly or inside a cut example (itself a JSON
// string). The table is small (one row per source, event type and
// problem, the unseen ones deleted after store.WarningKeep), so it is
// read whole.
func eraseExamples(ctx context.Context, tx pgx.Tx, user string) error {
	q, err := json.Marshal(user)
	if err != nil {
		return err
	}
	e, err := json.Marshal(string(q))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE plan_warnings SET example = $1
		WHERE strpos(example, $2) > 0 OR strpos(example, $3) > 0`,
		store.ErasedExample, string(q), string(e[1:len(e)-1])); err != nil {
		return fmt.Errorf("plan warnings: %w", err)
	}
	return nil
}

// Suppressions reads the suppression list newest first through its
// erased_at index.
func (d *DB) Suppressions(ctx context.Context, before time.Time, limit int) ([]store.Suppression, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	end := pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	if !before.IsZero() {
		end = pgtype.Timestamptz{Time: before, Valid: true}
	}
	rows, err := d.pool.Query(ctx, `SELECT user_hash, erased_at, erased_by, events, messages
		FROM suppressed_users WHERE erased_at < $1 ORDER BY erased_at DESC, user_hash LIMIT $2`,
		end, store.ClampLimit(limit))
	if err != nil {
		return nil, d.fail("suppressions", err)
	}
	out := []store.Suppression{}
	var s store.Suppression
	if _, err := pgx.ForEachRow(rows, []any{&s.UserHash, &s.ErasedAt, &s.ErasedBy, &s.Events, &s.Messages}, func() error {
		s.ErasedAt = s.ErasedAt.UTC()
		out = append(out, s)
		return nil
	}); err != nil {
		return nil, d.fail("suppressions", err)
	}
	return out, nil
}

// checkSuppressed returns which of users (user_id to hash,
// store.BatchUsers) are on the suppression list, by hash, in tx, a
// Write's transaction, before it writes anything.
//
// It first takes ROW EXCLUSIVE on events, the lock the insert would take
// anyway, which an erasure's SHARE ROW EXCLUSIVE conflicts with: an
// erasure in progress makes it wait until the erasure commits, and none
// starts until this transaction ends. The check, a statement after it
// in READ COMMITTED, takes its snapshot once the lock is held: it sees
// every erasure committed by then, and none can commit before the batch
// does. The batch's processing-log rows are written in the same
// transaction, so the one lock guards them too. Both statements go in
// one round trip; the server runs the second once the first is done.
func checkSuppressed(ctx context.Context, tx pgx.Tx, users map[string]string) (map[string]bool, error) {
	hashes := make([]string, 0, len(users))
	for _, h := range users {
		hashes = append(hashes, h)
	}
	b := &pgx.Batch{}
	b.Queue(`LOCK TABLE events IN ROW EXCLUSIVE MODE`)
	b.Queue(`SELECT user_hash FROM suppressed_users WHERE user_hash = ANY($1)`, hashes)
	br := tx.SendBatch(ctx, b)
	var erased map[string]bool
	_, err := br.Exec()
	if err == nil {
		rows, _ := br.Query()
		var h string
		_, err = pgx.ForEachRow(rows, []any{&h}, func() error {
			if erased == nil {
				erased = map[string]bool{}
			}
			erased[h] = true
			return nil
		})
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("suppression list: %w", err)
	}
	return erased, nil
}
