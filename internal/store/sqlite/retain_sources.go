package sqlite

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// RetainSources deletes, for each source of before, its events stored
// before the time, walking only the ids from the source's cursor (see
// store.Sources). The cut is found as Retain finds its own, from the
// cursor on: the first id stored at or after the time. The ids from the
// cursor to the cut are then read in ranges of deleteChunk, each its own
// short transaction that deletes the source's rows of the range, takes
// them off the aggregates as Retain does and moves the cursor to the
// range's end. Every row of the range is read once whatever its source,
// so a pass costs the rows stored since the last one (there is no index
// on source_id, which every write would pay for), and rows of other
// sources below the cursor are never read again.
func (d *DB) RetainSources(ctx context.Context, before map[string]time.Time) (int64, error) {
	if d.closed.Load() {
		return 0, store.ErrClosed
	}
	var total int64
	for _, id := range slices.Sorted(maps.Keys(before)) {
		n, err := d.retainSource(ctx, id, before[id])
		total += n
		if err != nil {
			return total, d.fail("retain source "+id, err)
		}
		if n > 0 {
			d.log.Info("source retention deleted events", "source", id, "events", n)
		}
	}
	return total, nil
}

// retainSource runs RetainSources for one source.
func (d *DB) retainSource(ctx context.Context, id string, before time.Time) (int64, error) {
	// From the cursor, or the oldest event when retention went past it.
	var from, cut int64
	if err := d.r.QueryRowContext(ctx, `SELECT max(
		coalesce((SELECT judged_to FROM source_retention WHERE source_id = ?), 0),
		coalesce((SELECT min(id) FROM events), 0))`, id).Scan(&from); err != nil {
		return 0, err
	}
	// The first row young enough, or past the end when every row is old.
	if err := d.r.QueryRowContext(ctx, `SELECT coalesce(
		(SELECT id FROM events WHERE id >= ?1 AND created_at >= ?2 ORDER BY id LIMIT 1),
		(SELECT max(id) + 1 FROM events), 0)`, from, micros(before)).Scan(&cut); err != nil {
		return 0, err
	}
	var total int64
	for lo := from; lo < cut; lo += deleteChunk {
		n, err := d.sourceChunk(ctx, id, lo, min(lo+deleteChunk, cut))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// sourceChunk deletes the events of source id in [lo, hi), takes them off
// the aggregates and moves the source's cursor to hi, in one transaction.
func (d *DB) sourceChunk(ctx context.Context, id string, lo, hi int64) (int64, error) {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	// The property rollups give back what they counted of the source's
	// events only (retention's rule, see deleteChunk).
	if err := countProperties(tx, -1, lo, hi, `k.removed = 0 AND e.id >= k.counted_from AND e.source_id = ?4`, id); err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, `DELETE FROM events WHERE id >= ? AND id < ? AND source_id = ?
		RETURNING `+takenEventColumns, lo, hi, id)
	if err != nil {
		return 0, err
	}
	var t taken
	n, err := t.scan(rows, "events")
	if err != nil {
		return 0, err
	}
	if err := d.takeOff(tx, &t); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO source_retention (source_id, judged_to) VALUES (?, ?)
		ON CONFLICT (source_id) DO UPDATE SET judged_to = max(judged_to, excluded.judged_to)`, id, hi); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// SourceRetentionCursors returns the cursor of each source that has one:
// every event of the source with a lower id has gone.
func (d *DB) SourceRetentionCursors(ctx context.Context) (map[string]int64, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.r.QueryContext(ctx, `SELECT source_id, judged_to FROM source_retention`)
	if err != nil {
		return nil, d.fail("source retention cursors", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			id string
			c  int64
		)
		if err := rows.Scan(&id, &c); err != nil {
			return nil, d.fail("source retention cursors", err)
		}
		out[id] = c
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("source retention cursors", err)
	}
	return out, nil
}
