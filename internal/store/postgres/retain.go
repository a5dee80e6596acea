package postgres

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
// Ids are handed out as rows are appended, with created_at taken at write
// time, so the id order follows created_at up to the length of a write: the
// cut is found by walking the primary key from the oldest row, touching
// only rows that go, and rows are deleted in id ranges of deleteChunk, each
// its own short transaction.
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
			(SELECT id FROM %[1]s WHERE created_at >= $1 ORDER BY id LIMIT 1),
			(SELECT max(id) + 1 FROM %[1]s), 0)`, table)
		if err := d.pool.QueryRow(ctx, q, time.Now().Add(-r.MaxAge)).Scan(&cut); err != nil {
			return 0, err
		}
	}
	if r.MaxRows > 0 {
		var c int64
		q := fmt.Sprintf(`SELECT coalesce(
			(SELECT id FROM %s ORDER BY id DESC OFFSET $1 LIMIT 1), 0)`, table)
		if err := d.pool.QueryRow(ctx, q, r.MaxRows-1).Scan(&c); err != nil {
			return 0, err
		}
		cut = max(cut, c)
	}
	return cut, nil
}

// deleteBelow deletes the rows of table with id < cut, deleteChunk ids at
// a time starting from the oldest, and takes what each chunk deleted off
// the running totals in the same statement.
func (d *DB) deleteBelow(ctx context.Context, table string, cut int64) (int64, error) {
	if cut <= 0 {
		return 0, nil
	}
	taken := `SELECT "partition", 'type' AS kind, event_type AS key, -count(*) AS n, 0::float8 AS ms FROM gone
		GROUP BY "partition", event_type
		UNION ALL
		SELECT "partition", 'click', element_id, -count(*), 0 FROM gone
		WHERE event_type = 'button_click' GROUP BY "partition", element_id`
	returning := `"partition", event_type, element_id`
	if table == "messages" {
		taken = `SELECT "partition", 'status' AS kind, status AS key, -count(*) AS n, -sum(duration_ms) AS ms FROM gone
		GROUP BY "partition", status`
		returning = `"partition", status, duration_ms`
	}
	q := fmt.Sprintf(`WITH gone AS (
		DELETE FROM %[1]s WHERE id < least($1::bigint, (SELECT min(id) FROM %[1]s) + $2::bigint)
		RETURNING %[2]s
	), taken AS (
		INSERT INTO totals AS t ("partition", kind, key, n, ms)
		SELECT * FROM (%[3]s) d ORDER BY 1, 2, 3
		ON CONFLICT ("partition", kind, key) DO UPDATE SET n = t.n + excluded.n, ms = t.ms + excluded.ms
	)
	SELECT count(*) FROM gone`, table, returning, taken)
	var total int64
	for {
		var n int64
		if err := d.pool.QueryRow(ctx, q, cut, deleteChunk).Scan(&n); err != nil {
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
