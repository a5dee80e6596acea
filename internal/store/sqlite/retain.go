package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// Retain deletes events and processing-log rows older than r.MaxAge, and
// the oldest rows of each table beyond r.MaxRows, and the series older
// than series.Keep whatever r says. It returns the number of events
// deleted.
//
// Rows are only appended, with created_at taken at write time by the one
// writer, so the rowid order is the created_at order: the cut is found by
// walking the rowid from the oldest row, touching only rows that go, and
// rows are deleted in rowid ranges of deleteChunk, each its own short
// transaction so batches keep flowing during a large clean-up.
func (d *DB) Retain(ctx context.Context, r store.Retention) (int64, error) {
	if d.closed.Load() {
		return 0, store.ErrClosed
	}
	if err := d.retainSeries(ctx); err != nil {
		return 0, err
	}
	if r.MaxAge <= 0 && r.MaxRows <= 0 {
		return 0, nil
	}
	var events int64
	for _, table := range []string{"events", "messages"} {
		cut, err := d.cutoff(ctx, table, r)
		if err != nil {
			return events, d.fail("retain "+table, err)
		}
		n, err := d.deleteBelow(ctx, table, cut)
		if table == "events" {
			events = n
		}
		if err != nil {
			return events, d.fail("retain "+table, err)
		}
		if n > 0 {
			d.log.Info("retention deleted rows", "table", table, "rows", n)
		}
	}
	return events, nil
}

// cutoff returns the lowest id to keep in table.
func (d *DB) cutoff(ctx context.Context, table string, r store.Retention) (int64, error) {
	var cut int64
	if r.MaxAge > 0 {
		// The first row young enough, or past the end when every row is old.
		q := fmt.Sprintf(`SELECT coalesce(
			(SELECT id FROM %[1]s WHERE created_at >= ? ORDER BY id LIMIT 1),
			(SELECT max(id) + 1 FROM %[1]s), 0)`, table)
		if err := d.r.QueryRowContext(ctx, q, micros(time.Now().Add(-r.MaxAge))).Scan(&cut); err != nil {
			return 0, err
		}
	}
	if r.MaxRows > 0 {
		var c int64
		q := fmt.Sprintf(`SELECT coalesce(
			(SELECT id FROM %s ORDER BY id DESC LIMIT 1 OFFSET ?), 0)`, table)
		if err := d.r.QueryRowContext(ctx, q, r.MaxRows-1).Scan(&c); err != nil {
			return 0, err
		}
		cut = max(cut, c)
	}
	return cut, nil
}

// deleteBelow deletes the rows of table with id < cut, deleteChunk ids at
// a time starting from the oldest.
func (d *DB) deleteBelow(ctx context.Context, table string, cut int64) (int64, error) {
	if cut <= 0 {
		return 0, nil
	}
	q := fmt.Sprintf(`DELETE FROM %[1]s
		WHERE id < min(?, (SELECT min(id) FROM %[1]s) + ?)`, table)
	var total int64
	for {
		res, err := d.w.ExecContext(ctx, q, cut, deleteChunk)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		// The chunk starts at the oldest row, so it deletes at least one row
		// while any row below cut is left.
		if n == 0 {
			return total, nil
		}
	}
}
