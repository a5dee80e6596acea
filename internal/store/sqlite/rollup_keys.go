package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// A property's rollup value is its JSON text as a scan reads it
// (properties -> '$."key"'), so that the rollups and the events agree on
// every value; an empty text when absent, UnkeptRollupValue when too
// long to keep.
//
// countPropertiesSQL adds ?1 times the events %[3]s selects (eventRange
// or eventList) to the rollups of the keys the condition %[1]s selects,
// reading each value with %[2]s. The statement counts a batch's events
// as the writer stores them, a chunk of older ones for the filler, and
// takes off those retention or an erasure deletes; it returns the rows
// it changed, so that a row left at zero is deleted. Each event's value
// is read once per key and counted per minute first (materialized, so
// that SQLite does not read it again for each width), then per width.
const countPropertiesSQL = `WITH v AS MATERIALIZED (
	SELECT '#' || k.id AS dim, e.event_type AS t, e.timestamp / 60000000 * 60 AS minute,
		%[2]s AS x
	FROM %[3]s AND %[1]s
), m AS MATERIALIZED (
	SELECT dim, t, minute, iif(length(x) > 256, '~', coalesce(x, '')) AS value, count(*) AS n
	FROM v GROUP BY 1, 2, 3, 4
)
INSERT INTO rollups (width, dim, event_type, bucket, value, "partition", events)
SELECT w.width, m.dim, m.t, m.minute / w.width * w.width, m.value, 0, ?1 * sum(m.n)
FROM m, (SELECT 60 AS width UNION ALL SELECT 3600) w
WHERE true
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (width, dim, event_type, bucket, value, "partition") DO UPDATE SET events = events + excluded.events
RETURNING width, dim, event_type, bucket, value, events`

func init() {
	if !strings.Contains(countPropertiesSQL, fmt.Sprintf("length(x) > %d, '%s'", store.MaxRollupValue, store.UnkeptRollupValue)) {
		panic("sqlite: countPropertiesSQL disagrees with store.MaxRollupValue or UnkeptRollupValue")
	}
}

// The value's JSON text, read plainly or, when SQLite cannot parse some
// event's properties, with each checked first: the check costs a second
// parse of every event (a tenth of the write rate with two keys kept),
// and stored properties are valid JSON (event.Validate), so it is the
// rare way round.
const (
	propertyValue        = `e.properties -> ('$."' || k.key || '"')`
	checkedPropertyValue = `iif(json_valid(e.properties), ` + propertyValue + `, NULL)`
)

// The events countPropertiesSQL counts: the ids in [?2, ?3), or those of
// the JSON array ?2, each looked up by its id.
const (
	eventRange = `events e, rollup_keys k WHERE e.id >= ?2 AND e.id < ?3`
	eventList  = `json_each(?2) j CROSS JOIN events e ON e.id = j.value, rollup_keys k WHERE true`
)

// countProperties runs countPropertiesSQL on tx for the ids in [lo, hi)
// and the keys cond selects (args are cond's), and deletes the rows it
// left at zero.
func countProperties(tx *sql.Tx, sign, lo, hi int64, cond string, args ...any) error {
	return countPropertiesOf(tx, eventRange, append([]any{sign, lo, hi}, args...), cond)
}

// countPropertiesOf runs countPropertiesSQL on tx for the events events
// selects, with args (?1 the sign, then events' and cond's).
func countPropertiesOf(tx *sql.Tx, events string, args []any, cond string) error {
	emptied, err := countPropertiesWith(tx, fmt.Sprintf(countPropertiesSQL, cond, propertyValue, events), args)
	if err != nil && strings.Contains(err.Error(), "malformed JSON") {
		// SQLite runs the whole statement at its first step, before it
		// returns a row: the failed one changed nothing, and the
		// transaction goes on.
		emptied, err = countPropertiesWith(tx, fmt.Sprintf(countPropertiesSQL, cond, checkedPropertyValue, events), args)
	}
	if err != nil {
		return fmt.Errorf("property rollups: %w", err)
	}
	for _, k := range emptied {
		if _, err := tx.Exec(`DELETE FROM rollups WHERE width = ? AND dim = ? AND event_type = ? AND bucket = ?
			AND value = ? AND "partition" = 0 AND events <= 0`,
			k.Width, k.Dim, k.EventType, k.Bucket, k.Value); err != nil {
			return fmt.Errorf("property rollups: %w", err)
		}
	}
	return nil
}

// countPropertiesWith runs one form of countPropertiesSQL and returns the
// rows it left at zero or below.
func countPropertiesWith(tx *sql.Tx, q string, args []any) ([]store.RollupKey, error) {
	rows, err := tx.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var emptied []store.RollupKey
	for rows.Next() {
		var (
			k store.RollupKey
			n int64
		)
		if err := rows.Scan(&k.Width, &k.Dim, &k.EventType, &k.Bucket, &k.Value, &n); err != nil {
			return nil, err
		}
		if n <= 0 {
			emptied = append(emptied, k)
		}
	}
	return emptied, rows.Err()
}

// keptKeys reports whether any key is kept, read in the writer's
// transaction: a key added commits before or after it, never half.
func keptKeys(tx *sql.Tx) (bool, error) {
	var any bool
	err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM rollup_keys WHERE removed = 0)`).Scan(&any)
	return any, err
}

// nextEventID is the id the next event stored will get (AUTOINCREMENT
// never hands out an id again, even after the newest row is deleted).
func nextEventID(q interface {
	QueryRow(string, ...any) *sql.Row
}) (int64, error) {
	var seq int64
	err := q.QueryRow(`SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)`).Scan(&seq)
	return seq + 1, err
}

// AddRollupKey starts counting by key. The one writer connection runs it
// between two batches, so every event stored after it is counted by the
// writer and every one before by the filler.
func (d *DB) AddRollupKey(ctx context.Context, key string) (store.RollupKeyState, error) {
	if err := store.CheckRollupKey(key); err != nil {
		return store.RollupKeyState{}, err
	}
	if err := d.writable(); err != nil {
		return store.RollupKeyState{}, err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return store.RollupKeyState{}, d.fail("add rollup key", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	if st, err := keyState(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM rollup_keys WHERE key = ? AND removed = 0`, key)); err == nil {
		return st, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return st, d.fail("add rollup key", err)
	}
	var kept int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM rollup_keys WHERE removed = 0`).Scan(&kept); err != nil {
		return store.RollupKeyState{}, d.fail("add rollup key", err)
	}
	if kept >= store.MaxRollupKeys {
		return store.RollupKeyState{}, store.ErrRollupKeyLimit
	}
	from, err := nextEventID(tx)
	if err != nil {
		return store.RollupKeyState{}, d.fail("add rollup key", err)
	}
	var low int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(min(id), ?) FROM events`, from).Scan(&low); err != nil {
		return store.RollupKeyState{}, d.fail("add rollup key", err)
	}
	now := time.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO rollup_keys (key, from_id, counted_from, low_id, ready, added_at)
		VALUES (?, ?, ?, ?, ?, ?)`, key, from, from, low, low >= from, micros(now)); err != nil {
		return store.RollupKeyState{}, d.fail("add rollup key", err)
	}
	if err := tx.Commit(); err != nil {
		return store.RollupKeyState{}, d.fail("add rollup key", err)
	}
	return store.RollupKeyState{Key: key, AddedAt: fromMicros(micros(now)), Ready: low >= from,
		Filled: store.FilledShare(low, from, from, low >= from)}, nil
}

// RemoveRollupKey stops counting by key at once; the filler deletes its
// rows.
func (d *DB) RemoveRollupKey(ctx context.Context, key string) error {
	if err := d.writable(); err != nil {
		return err
	}
	res, err := d.w.ExecContext(ctx, `UPDATE rollup_keys SET removed = 1 WHERE key = ? AND removed = 0`, key)
	if err != nil {
		return d.fail("remove rollup key", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return d.fail("remove rollup key", err)
	} else if n == 0 {
		return fmt.Errorf("property key %q: %w", key, store.ErrNotFound)
	}
	return nil
}

const keyColumns = `key, from_id, counted_from, low_id, ready, added_at`

func keyState(row interface{ Scan(...any) error }) (store.RollupKeyState, error) {
	var (
		st                      store.RollupKeyState
		from, counted, low, add int64
	)
	if err := row.Scan(&st.Key, &from, &counted, &low, &st.Ready, &add); err != nil {
		return st, err
	}
	st.AddedAt = fromMicros(add)
	st.Filled = store.FilledShare(low, counted, from, st.Ready)
	return st, nil
}

// RollupKeyList returns the kept keys, oldest first.
func (d *DB) RollupKeyList(ctx context.Context) ([]store.RollupKeyState, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT `+keyColumns+` FROM rollup_keys WHERE removed = 0 ORDER BY id`)
	if err != nil {
		return nil, d.fail("rollup keys", err)
	}
	defer rows.Close()
	out := []store.RollupKeyState{}
	for rows.Next() {
		st, err := keyState(rows)
		if err != nil {
			return nil, d.fail("rollup keys", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("rollup keys", err)
	}
	return out, nil
}

// FillRollupKeys does one step: a chunk of a removed key's rows deleted,
// or a chunk of the events stored before a key was added counted.
func (d *DB) FillRollupKeys(ctx context.Context, chunk int64) (bool, error) {
	chunk = max(chunk, 1)
	if err := d.writable(); err != nil {
		return false, err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return false, d.fail("fill rollup keys", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	var (
		id, counted, low int64
		removed          bool
	)
	err = tx.QueryRowContext(ctx, `SELECT id, counted_from, low_id, removed FROM rollup_keys
		WHERE removed = 1 OR ready = 0 ORDER BY removed DESC, id LIMIT 1`).Scan(&id, &counted, &low, &removed)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, d.fail("fill rollup keys", err)
	}
	if removed {
		err = d.dropKeyRows(ctx, tx, id)
	} else {
		err = d.fillKey(ctx, tx, id, counted, low, chunk)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return false, d.fail("fill rollup keys", err)
	}
	return true, nil
}

// dropKeyRows deletes a chunk of a removed key's rows, and the key once
// none is left. The writers stopped counting by it when it was removed,
// so nothing adds rows behind the deletion.
func (d *DB) dropKeyRows(ctx context.Context, tx *sql.Tx, id int64) error {
	dim := store.RollupKeyDim(id)
	var left int64
	for _, w := range store.RollupWidths {
		res, err := tx.ExecContext(ctx, `DELETE FROM rollups WHERE (width, dim, event_type, bucket, value, "partition") IN (
			SELECT width, dim, event_type, bucket, value, "partition" FROM rollups WHERE width = ? AND dim = ? LIMIT ?)`,
			w, dim, store.RemoveChunk)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		left += n
	}
	if left > 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM rollup_keys WHERE id = ?`, id)
	return err
}

// fillKey counts the chunk of events below counted_from, and marks the
// key ready when no older event is left.
func (d *DB) fillKey(ctx context.Context, tx *sql.Tx, id, counted, low, chunk int64) error {
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(id) FROM events`).Scan(&oldest); err != nil {
		return err
	}
	lo := max(counted-chunk, low)
	if oldest.Valid {
		lo = min(counted, max(lo, oldest.Int64)) // retention took the rest
	}
	if lo < counted {
		if err := countProperties(tx, 1, lo, counted, `k.id = ?`, id); err != nil {
			return err
		}
	}
	ready := lo <= low || !oldest.Valid || lo <= oldest.Int64
	_, err := tx.ExecContext(ctx, `UPDATE rollup_keys SET counted_from = ?, ready = ? WHERE id = ?`, lo, ready, id)
	return err
}
