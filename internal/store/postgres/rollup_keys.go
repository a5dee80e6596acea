package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// A property's rollup value is its JSON text as a scan reads it
// (properties -> key), so that the rollups and the events agree on every
// value; an empty text when absent, UnkeptRollupValue when too long to
// keep or when the properties are undecodable (see undecodableSQL): a
// statement that failed on one event would fail its whole batch again
// and again. %[1]s is the row's alias, %[2]s the key's expression.
const propertyValueSQL = `CASE WHEN %[1]s.properties::text ~ ` + undecodableSQL + ` THEN '~'
	ELSE coalesce(CASE WHEN length((%[1]s.properties -> %[2]s)::text) > 256 THEN '~'
		ELSE (%[1]s.properties -> %[2]s)::text END, '') END`

// undecodableSQL matches the properties PostgreSQL's json operators refuse
// to read, though json_in stores them: an escaped NUL or UTF-16 surrogate
// anywhere in the object fails even "->" on another key. It errs on the
// side of refusing (an escaped backslash before "u0000" matches too, and
// a valid surrogate pair); a scan reads those in Go instead.
const undecodableSQL = `'\\u(0000|[dD][89a-fA-F])'`

func init() {
	if store.MaxRollupValue != 256 || store.UnkeptRollupValue != "~" {
		panic("postgres: propertyValueSQL disagrees with store.MaxRollupValue or UnkeptRollupValue")
	}
}

// Who changes what, and in which order, so that the counts of a key
// agree with the rows:
//   - the statement that inserts a batch joins rollup_keys: it counts by
//     the keys its snapshot sees, taken once it holds its lock on events;
//   - adding or removing a key takes SHARE on events after locking
//     rollup_keys, so no insert is in flight when it notes where the
//     writers are, and every later insert sees it;
//   - the filler locks its key's row FOR UPDATE, retention every key's
//     row FOR SHARE before it deletes: counted_from does not move under a
//     retention chunk.
//
// Locks are taken in one order, rollup_keys before events.

const keyColumns = `key, from_id, counted_from, low_id, ready, added_at`

func keyState(row pgx.Row) (store.RollupKeyState, error) {
	var (
		st                 store.RollupKeyState
		from, counted, low int64
	)
	if err := row.Scan(&st.Key, &from, &counted, &low, &st.Ready, &st.AddedAt); err != nil {
		return st, err
	}
	st.AddedAt = st.AddedAt.UTC()
	st.Filled = store.FilledShare(low, counted, from, st.Ready)
	return st, nil
}

// AddRollupKey starts counting by key.
func (d *DB) AddRollupKey(ctx context.Context, key string) (store.RollupKeyState, error) {
	if err := store.CheckRollupKey(key); err != nil {
		return store.RollupKeyState{}, err
	}
	if d.closed.Load() {
		return store.RollupKeyState{}, store.ErrClosed
	}
	var st store.RollupKeyState
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// SHARE ROW EXCLUSIVE conflicts with itself: two servers adding
		// one key take turns.
		if _, err := tx.Exec(ctx, `LOCK TABLE rollup_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var err error
		st, err = keyState(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM rollup_keys WHERE key = $1 AND NOT removed`, key))
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var kept int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM rollup_keys WHERE NOT removed`).Scan(&kept); err != nil {
			return err
		}
		if kept >= store.MaxRollupKeys {
			return store.ErrRollupKeyLimit
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE events IN SHARE MODE`); err != nil {
			return err
		}
		// No insert is in flight: every event stored from now on has an id
		// above the largest one now.
		var from, low int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1, coalesce(min(id), max(id) + 1, 1) FROM events`).Scan(&from, &low); err != nil {
			return err
		}
		ready := low >= from
		st, err = keyState(tx.QueryRow(ctx, `INSERT INTO rollup_keys (key, from_id, counted_from, low_id, ready, added_at)
			VALUES ($1, $2, $2, $3, $4, now()) RETURNING `+keyColumns, key, from, low, ready))
		return err
	})
	if errors.Is(err, store.ErrRollupKeyLimit) {
		return st, err
	}
	if err != nil {
		return st, d.fail("add rollup key", err)
	}
	return st, nil
}

// RemoveRollupKey stops counting by key at once; the filler deletes its
// rows.
func (d *DB) RemoveRollupKey(ctx context.Context, key string) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE rollup_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE rollup_keys SET removed = true WHERE key = $1 AND NOT removed`, key)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("property key %q: %w", key, store.ErrNotFound)
		}
		// Waits for the inserts in flight, which may still count by the
		// key; those after see it removed.
		_, err = tx.Exec(ctx, `LOCK TABLE events IN SHARE MODE`)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		return d.fail("remove rollup key", err)
	}
	return nil
}

// RollupKeyList returns the kept keys, oldest first.
func (d *DB) RollupKeyList(ctx context.Context) ([]store.RollupKeyState, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT `+keyColumns+` FROM rollup_keys WHERE NOT removed ORDER BY id`)
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

// fillSQL counts the events with ids in [$3, $4) by key $2, whose rows
// are dimension $1.
var fillSQL = `INSERT INTO rollups AS r (width, dim, event_type, bucket, value, "partition", events)
SELECT w.width, $1::text, e.event_type, floor(extract(epoch FROM e."timestamp") / w.width)::int8 * w.width,
	` + fmt.Sprintf(propertyValueSQL, "e", "$2::text") + `, e."partition", count(*)
FROM events e, (VALUES (60::int8), (3600::int8)) w(width)
WHERE e.id >= $3 AND e.id < $4
GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT (width, dim, event_type, bucket, value, "partition") DO UPDATE SET events = r.events + excluded.events`

// FillRollupKeys does one step: a chunk of a removed key's rows deleted,
// or a chunk of the events stored before a key was added counted.
func (d *DB) FillRollupKeys(ctx context.Context, chunk int64) (bool, error) {
	chunk = max(chunk, 1)
	if d.closed.Load() {
		return false, store.ErrClosed
	}
	more := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var (
			id, counted, low int64
			key              string
			removed          bool
		)
		err := tx.QueryRow(ctx, `SELECT id, key, counted_from, low_id, removed FROM rollup_keys
			WHERE removed OR NOT ready ORDER BY removed DESC, id LIMIT 1 FOR UPDATE`).Scan(&id, &key, &counted, &low, &removed)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		more = true
		dim := store.RollupKeyDim(id)
		if removed {
			// The writers stopped counting by it when it was removed, so
			// nothing adds rows behind the deletion.
			tag, err := tx.Exec(ctx, `DELETE FROM rollups WHERE ctid = ANY(ARRAY(
				SELECT ctid FROM rollups WHERE width = ANY($1::int8[]) AND dim = $2 LIMIT $3))`,
				store.RollupWidths, dim, store.RemoveChunk)
			if err != nil || tag.RowsAffected() > 0 {
				return err
			}
			_, err = tx.Exec(ctx, `DELETE FROM rollup_keys WHERE id = $1`, id)
			return err
		}
		var oldest *int64
		if err := tx.QueryRow(ctx, `SELECT min(id) FROM events`).Scan(&oldest); err != nil {
			return err
		}
		lo := max(counted-chunk, low)
		if oldest != nil {
			lo = min(counted, max(lo, *oldest)) // retention took the rest
		}
		if lo < counted {
			if _, err := tx.Exec(ctx, fillSQL, dim, key, lo, counted); err != nil {
				return err
			}
		}
		ready := lo <= low || oldest == nil || lo <= *oldest
		_, err = tx.Exec(ctx, `UPDATE rollup_keys SET counted_from = $1, ready = $2 WHERE id = $3`, lo, ready, id)
		return err
	})
	if err != nil {
		return false, d.fail("fill rollup keys", err)
	}
	return more, nil
}

// propertyCounts reads the rollups of a kept, filled property key, in one
// repeatable-read transaction: a key removed meanwhile is either still
// whole or gone.
func (d *DB) propertyCounts(ctx context.Context, key string, q store.RollupQuery) ([]store.RollupCount, error) {
	var out []store.RollupCount
	err := pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var (
			id    int64
			ready bool
		)
		err := tx.QueryRow(ctx, `SELECT id, ready FROM rollup_keys WHERE key = $1 AND NOT removed`, key).Scan(&id, &ready)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("%w: %q is not kept", store.ErrNoRollup, key)
		case err != nil:
			return err
		case !ready:
			return fmt.Errorf("%w: %q is still being filled", store.ErrNoRollup, key)
		}
		q.Dim = store.RollupKeyDim(id)
		rows, err := rollupCounts(ctx, tx, q)
		if err != nil {
			return err
		}
		out, err = store.MergePropertyCounts(rows)
		return err
	})
	if errors.Is(err, store.ErrNoRollup) {
		return nil, err
	}
	if err != nil {
		return nil, d.fail("rollups", err)
	}
	return out, nil
}
