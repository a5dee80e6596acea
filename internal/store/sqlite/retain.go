package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
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
// a time starting from the oldest, and takes what each chunk deleted off
// the running totals in the chunk's transaction.
func (d *DB) deleteBelow(ctx context.Context, table string, cut int64) (int64, error) {
	if cut <= 0 {
		return 0, nil
	}
	returning := takenEventColumns
	if table == "messages" {
		returning = takenMessageColumns
	}
	q := fmt.Sprintf(`DELETE FROM %s WHERE id < ? RETURNING %s`, table, returning)
	var total int64
	for {
		n, err := d.deleteChunk(ctx, table, q, cut)
		total += n
		// The chunk starts at the oldest row, so it deletes at least one row
		// while any row below cut is left.
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// deleteChunk runs one chunk of deleteBelow in its own transaction.
func (d *DB) deleteChunk(ctx context.Context, table, q string, cut int64) (int64, error) {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	// The chunk: ids below cut, at most deleteChunk from the oldest.
	var end int64
	if err := tx.QueryRowContext(ctx, `SELECT min(?, coalesce(min(id), 0) + ?) FROM `+table, cut, deleteChunk).Scan(&end); err != nil {
		return 0, err
	}
	if table == "events" {
		// The property rollups count an event when its id is at least
		// their key's counted_from; they give back the ones they counted.
		if err := countProperties(tx, -1, 0, end, `k.removed = 0 AND e.id >= k.counted_from`); err != nil {
			return 0, err
		}
	}
	rows, err := tx.QueryContext(ctx, q, end)
	if err != nil {
		return 0, err
	}
	var t taken
	n, err := t.scan(rows, table)
	if err != nil {
		return 0, err
	}
	if err := d.takeOff(tx, &t); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// taken is what deleted rows take off the running totals, the rollups,
// the activity and the sketches.
type taken struct {
	totals  store.TotalsDelta
	rollups store.RollupDelta
	active  store.ActivityDelta
	// minutes are the minutes and types of the events deleted, whose
	// sketches may be left without an event (pruneUniques).
	minutes map[store.UniqueKey]bool
}

// scan reads the rows a DELETE of table returned (the columns of
// takenEventColumns or takenMessageColumns), closes them and returns
// how many there were.
func (t *taken) scan(rows *sql.Rows, table string) (int64, error) {
	defer rows.Close()
	if t.rollups == nil {
		t.rollups, t.minutes = store.RollupDelta{}, map[store.UniqueKey]bool{}
	}
	var n int64
	for rows.Next() {
		var (
			kind, key      string
			ms             float64
			ts             int64
			page, sourceID string
			userID         string
			err            error
		)
		if table == "messages" {
			err = rows.Scan(&kind, &ms)
			t.totals.Message(onePartition, event.Status(kind), ms, -1)
		} else {
			err = rows.Scan(&kind, &key, &ts, &page, &sourceID, &userID)
			t.totals.Event(onePartition, kind, key, -1)
			t.rollups.Event(onePartition, fromMicros(ts), kind, page, key, sourceID, -1)
			t.active.Event(onePartition, fromMicros(ts), kind, userID, -1)
			t.minutes[store.UniqueKey{Width: store.UniqueMinute, Bucket: store.RollupBucket(fromMicros(ts), store.UniqueMinute), EventType: kind}] = true
		}
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}

// The columns a DELETE returns for taken.scan.
const (
	takenEventColumns   = `event_type, element_id, timestamp, page, source_id, user_id`
	takenMessageColumns = `status, duration_ms`
)

// takeOff writes what t took in tx.
func (d *DB) takeOff(tx *sql.Tx, t *taken) error {
	if err := writeTotals(tx, &t.totals); err != nil {
		return err
	}
	if err := d.writeRollups(tx, t.rollups); err != nil {
		return err
	}
	if err := d.writeActivity(tx, &t.active); err != nil {
		return err
	}
	return pruneUniques(tx, t.minutes)
}
