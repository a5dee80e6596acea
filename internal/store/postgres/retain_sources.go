package postgres

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// RetainSources deletes, for each source of before, its events stored
// before the time, walking only the ids from the source's cursor (see
// store.Sources). The cut is found as Retain finds its own, from the
// cursor on: the first id stored at or after the time. The ids from the
// cursor to the cut are then read in ranges of deleteChunk, each its own
// short transaction that deletes the source's rows of the range, takes
// them off the aggregates in the statement (takeOffEventsSQL, as
// retention and erasure do) and moves the cursor to the range's end.
// Every row of the range is read once whatever its source, so a pass
// costs the rows stored since the last one (there is no index on
// source_id, which every write would pay for), and rows of other
// sources below the cursor are never read again.
//
// Ids follow created_at up to the length of a write (see Retain): a
// batch would have to stay uncommitted for the source's retention (an
// hour at least) to commit a row below a cursor, which then only the
// server-wide retention would delete.
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
	// From the cursor, or the oldest event when retention went past it;
	// to the first row young enough, or past the end when every row is
	// old.
	var from, cut int64
	if err := d.pool.QueryRow(ctx, `WITH f AS (SELECT greatest(
			coalesce((SELECT judged_to FROM source_retention WHERE source_id = $1), 0),
			coalesce((SELECT min(id) FROM events), 0)) AS v)
		SELECT f.v, coalesce(
			(SELECT id FROM events WHERE id >= f.v AND created_at >= $2 ORDER BY id LIMIT 1),
			(SELECT max(id) + 1 FROM events), 0)
		FROM f`, id, before).Scan(&from, &cut); err != nil {
		return 0, err
	}
	var total int64
	for lo := from; lo < cut; {
		hi := min(lo+deleteChunk, cut)
		n, err := d.sourceChunk(ctx, id, lo, hi)
		total += n
		if err != nil {
			return total, err
		}
		lo = hi
	}
	return total, nil
}

// retainSourceSQL deletes the events of source $3 with ids in [$1, $2)
// and takes them off the aggregates; it answers in goneRows' shape.
var retainSourceSQL = `WITH gone AS (
	DELETE FROM events WHERE id >= $1 AND id < $2 AND source_id = $3
	` + takeOffEventsSQL

// sourceChunk deletes the events of source id in [lo, hi) and moves the
// source's cursor to hi, in one transaction, tried again when the
// server aborts it to break a deadlock (see deleteBelow).
func (d *DB) sourceChunk(ctx context.Context, id string, lo, hi int64) (int64, error) {
	for attempt := 1; ; attempt++ {
		n, err := d.sourceChunkOnce(ctx, id, lo, hi)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return n, err
		}
		if err := pause(ctx, attempt); err != nil {
			return 0, err
		}
	}
}

func (d *DB) sourceChunkOnce(ctx context.Context, id string, lo, hi int64) (int64, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	if err := lockForDeletes(ctx, tx); err != nil {
		return 0, err
	}
	var g goneRows
	if err := tx.QueryRow(ctx, retainSourceSQL, lo, hi, id).Scan(g.dest()...); err != nil {
		return 0, err
	}
	if err := g.clear(ctx, tx); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO source_retention AS r (source_id, judged_to) VALUES ($1, $2)
		ON CONFLICT (source_id) DO UPDATE SET judged_to = greatest(r.judged_to, excluded.judged_to)`, id, hi); err != nil {
		return 0, err
	}
	return g.n, tx.Commit(ctx)
}

// SourceRetentionCursors returns the cursor of each source that has one:
// every event of the source with a lower id has gone.
func (d *DB) SourceRetentionCursors(ctx context.Context) (map[string]int64, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT source_id, judged_to FROM source_retention`)
	if err != nil {
		return nil, d.fail("source retention cursors", err)
	}
	out := map[string]int64{}
	var (
		id string
		c  int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &c}, func() error {
		out[id] = c
		return nil
	}); err != nil {
		return nil, d.fail("source retention cursors", err)
	}
	return out, nil
}
