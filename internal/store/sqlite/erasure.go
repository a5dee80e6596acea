package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

var _ store.Erasure = (*DB)(nil)

// EraseUser puts userID on the suppression list and deletes the user's
// rows, in one transaction on the writer connection. SQLite has one
// writer: no batch is in flight while it runs, and every batch after it
// finds the user on the list (writeTx), so no event of the user can slip
// in between the check and the erasure.
//
// The user's events and processing-log rows are found through the
// bucketed (id >> 14, user_id, id) indexes, one seek per bucket of 16,384
// ids (about 600 at 10 M rows) and then the user's rows only; what they
// counted is taken off the aggregates as retention does (taken). The
// sketches of distinct users cannot take an id off: as with retention, a
// bucket's sketch goes once no event of its type is left in it, and one
// that keeps other users' events keeps the user's hashed id in its
// registers until retention ends the bucket.
func (d *DB) EraseUser(ctx context.Context, userID, by string) (store.Erased, error) {
	out := store.Erased{UserHash: store.UserHash(userID)}
	if err := d.writable(); err != nil {
		return out, err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return out, d.fail("erase user", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if err := d.erase(ctx, tx, userID, by, &out); err != nil {
		return store.Erased{UserHash: out.UserHash}, d.fail("erase user", err)
	}
	if err := tx.Commit(); err != nil {
		return store.Erased{UserHash: out.UserHash}, d.fail("erase user", err)
	}
	return out, nil
}

func (d *DB) erase(ctx context.Context, tx *sql.Tx, userID, by string, out *store.Erased) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO suppressed_users (user_hash, erased_at, erased_by)
		VALUES (?, ?, ?) ON CONFLICT (user_hash) DO NOTHING`, out.UserHash, micros(time.Now()), by)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	out.Already = n == 0
	// The first seen bounds the days of the user's activity; read before
	// its row goes.
	var first sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(at) FROM first_seen WHERE user_id = ?`, userID).Scan(&first); err != nil {
		return err
	}
	var t taken
	if out.Events, err = d.eraseRows(ctx, tx, "events", userID, &t); err != nil {
		return err
	}
	if out.Messages, err = d.eraseRows(ctx, tx, "messages", userID, &t); err != nil {
		return err
	}
	if err := d.takeOff(tx, &t); err != nil {
		return err
	}
	// Taking the events off the activity emptied the user's rows; any row
	// that disagreed with the events goes too, probed day by day through
	// the key (day, user_id, ...) from the first seen day to tomorrow.
	if first.Valid {
		from, to := store.Day(fromMicros(first.Int64)), store.Day(time.Now())+1
		if _, err := tx.ExecContext(ctx, `WITH RECURSIVE days(day) AS (
				SELECT ?1 WHERE ?1 <= ?2 UNION ALL SELECT day + 1 FROM days WHERE day < ?2)
			DELETE FROM activity WHERE user_id = ?3 AND day IN (SELECT day FROM days)`, from, to, userID); err != nil {
			return fmt.Errorf("activity: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM first_seen WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("first seen: %w", err)
	}
	if err := eraseExamples(ctx, tx, userID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE suppressed_users SET events = events + ?, messages = messages + ?
		WHERE user_hash = ?`, out.Events, out.Messages, out.UserHash)
	return err
}

// eraseRows deletes the rows of table (events or messages) with userID
// and adds what they counted to t. The property rollups are taken off
// first, as they read the events' properties: those a key counted, by
// retention's rule (ids from its counted_from on).
func (d *DB) eraseRows(ctx context.Context, tx *sql.Tx, table, userID string, t *taken) (int64, error) {
	ids, err := userRowIDs(ctx, tx, table, userID)
	if err != nil || ids == "" {
		return 0, err
	}
	returning := takenMessageColumns
	if table == "events" {
		returning = takenEventColumns
		if err := countPropertiesOf(tx, eventList, []any{-1, ids}, `k.removed = 0 AND e.id >= k.counted_from`); err != nil {
			return 0, err
		}
	}
	rows, err := tx.QueryContext(ctx, `DELETE FROM `+table+` WHERE id IN (SELECT value FROM json_each(?))
		RETURNING `+returning, ids)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", table, err)
	}
	n, err := t.scan(rows, table)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", table, err)
	}
	return n, nil
}

// userRowIDs returns the ids of table's rows of userID as a JSON array,
// "" when there are none: the buckets of the table's ids walked through
// its bucketed user index, a seek each.
func userRowIDs(ctx context.Context, tx *sql.Tx, table, userID string) (string, error) {
	var lo, hi sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(id), max(id) FROM `+table).Scan(&lo, &hi); err != nil {
		return "", err
	}
	if !lo.Valid {
		return "", nil
	}
	bits := strconv.Itoa(bucketBits)
	rows, err := tx.QueryContext(ctx, `WITH RECURSIVE b(k) AS (SELECT ?1 UNION ALL SELECT k + 1 FROM b WHERE k < ?2)
		SELECT r.id FROM b CROSS JOIN `+table+` r INDEXED BY `+table+`_bucket_user_id
		WHERE (r.id >> `+bits+`) = b.k AND r.user_id = ?3`, lo.Int64>>bucketBits, hi.Int64>>bucketBits, userID)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return "", err
	}
	b, err := json.Marshal(ids)
	return string(b), err
}

// eraseExamples replaces the tracking-plan warnings' examples that hold
// userID as a JSON string, plainly or inside a cut example (itself a
// JSON string). The table is small (one row per source, event type and
// problem, the unseen ones deleted after store.WarningKeep), so it is
// read whole.
func eraseExamples(ctx context.Context, tx *sql.Tx, userID string) error {
	quoted, escaped, err := exampleForms(userID)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE plan_warnings SET example = ?
		WHERE instr(example, ?) > 0 OR instr(example, ?) > 0`, store.ErasedExample, quoted, escaped)
	if err != nil {
		return fmt.Errorf("plan warnings: %w", err)
	}
	return nil
}

// exampleForms returns userID as a JSON string, and that string as it
// reads inside another JSON string.
func exampleForms(userID string) (quoted, escaped string, err error) {
	q, err := json.Marshal(userID)
	if err != nil {
		return "", "", err
	}
	e, err := json.Marshal(string(q))
	if err != nil {
		return "", "", err
	}
	return string(q), string(e[1 : len(e)-1]), nil
}

// Suppressions reads the suppression list newest first through its
// erased_at index.
func (d *DB) Suppressions(ctx context.Context, before time.Time, limit int) ([]store.Suppression, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	end := int64(1<<63 - 1)
	if !before.IsZero() {
		end = micros(before)
	}
	rows, err := d.r.QueryContext(ctx, `SELECT user_hash, erased_at, erased_by, events, messages
		FROM suppressed_users WHERE erased_at < ? ORDER BY erased_at DESC, user_hash LIMIT ?`, end, store.ClampLimit(limit))
	if err != nil {
		return nil, d.fail("suppressions", err)
	}
	defer rows.Close()
	out := []store.Suppression{}
	for rows.Next() {
		var (
			s  store.Suppression
			at int64
		)
		if err := rows.Scan(&s.UserHash, &at, &s.ErasedBy, &s.Events, &s.Messages); err != nil {
			return nil, d.fail("suppressions", err)
		}
		s.ErasedAt = fromMicros(at)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("suppressions", err)
	}
	return out, nil
}

// suppressed returns which of users (user_id to hash, store.BatchUsers)
// are on the suppression list, by hash, in one query.
func suppressed(tx *sql.Tx, users map[string]string) (map[string]bool, error) {
	if len(users) == 0 {
		return nil, nil
	}
	hashes := make([]string, 0, len(users))
	for _, h := range users {
		hashes = append(hashes, h)
	}
	b, err := json.Marshal(hashes)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(`SELECT user_hash FROM suppressed_users WHERE user_hash IN (SELECT value FROM json_each(?))`, string(b))
	if err != nil {
		return nil, fmt.Errorf("suppression list: %w", err)
	}
	defer rows.Close()
	var out map[string]bool
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("suppression list: %w", err)
		}
		if out == nil {
			out = map[string]bool{}
		}
		out[h] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("suppression list: %w", err)
	}
	return out, nil
}
