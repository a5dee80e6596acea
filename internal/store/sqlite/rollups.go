package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pulse-dev/pulse/internal/store"
)

const addRollupSQL = `INSERT INTO rollups (width, dim, event_type, bucket, value, "partition", events)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (width, dim, event_type, bucket, value, "partition") DO UPDATE SET events = events + excluded.events`

// writeRollups adds a transaction's changes to the rollups, with the
// statement prepared once at open. A row retention took from may have
// fallen to zero: it is deleted.
func (db *DB) writeRollups(tx *sql.Tx, d store.RollupDelta) error {
	if len(d) == 0 {
		return nil
	}
	add := tx.Stmt(db.addRollup)
	var emptied []store.RollupKey
	for _, k := range d.Rows() {
		if _, err := add.Exec(k.Width, k.Dim, k.EventType, k.Bucket, k.Value, k.Partition, d[k]); err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
		if d[k] < 0 {
			emptied = append(emptied, k)
		}
	}
	for _, k := range emptied {
		if _, err := tx.Exec(`DELETE FROM rollups WHERE width = ? AND dim = ? AND event_type = ? AND bucket = ?
			AND value = ? AND "partition" = ? AND events <= 0`,
			k.Width, k.Dim, k.EventType, k.Bucket, k.Value, k.Partition); err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
	}
	return nil
}

// RollupCounts reads the rollup rows of q's width, dimension, types and
// buckets through the primary key: per type, the range's buckets only.
func (d *DB) RollupCounts(ctx context.Context, q store.RollupQuery) ([]store.RollupCount, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	if key, ok := strings.CutPrefix(q.Dim, store.PropertyPrefix); ok {
		return d.propertyCounts(ctx, key, q)
	}
	return d.rollupCounts(ctx, d.r, q)
}

// propertyCounts reads the rollups of a kept, filled property key, in one
// read transaction: a key removed meanwhile is either still whole or
// gone.
func (d *DB) propertyCounts(ctx context.Context, key string, q store.RollupQuery) ([]store.RollupCount, error) {
	tx, err := d.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, d.fail("rollups", err)
	}
	defer func() { _ = tx.Rollback() }()
	var (
		id    int64
		ready bool
	)
	err = tx.QueryRowContext(ctx, `SELECT id, ready FROM rollup_keys WHERE key = ? AND removed = 0`, key).Scan(&id, &ready)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("%w: %q is not kept", store.ErrNoRollup, key)
	case err != nil:
		return nil, d.fail("rollups", err)
	case !ready:
		return nil, fmt.Errorf("%w: %q is still being filled", store.ErrNoRollup, key)
	}
	q.Dim = store.RollupKeyDim(id)
	rows, err := d.rollupCounts(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	return store.MergePropertyCounts(rows)
}

// rollupCounts reads the rows of q's width, dimension (as stored), types
// and buckets on db.
func (d *DB) rollupCounts(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q store.RollupQuery) ([]store.RollupCount, error) {
	args := []any{q.Width, q.Dim, q.From.Unix(), q.To.Unix()}
	// Without types, the types the totals know: each is a range of the
	// key, where a filter on the bucket alone would read every bucket.
	types := `SELECT key FROM totals WHERE kind = 'type' GROUP BY key`
	if len(q.Types) > 0 {
		types = strings.TrimSuffix(strings.Repeat("?, ", len(q.Types)), ", ")
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT bucket, event_type, value, sum(events) FROM rollups
		WHERE width = ? AND dim = ? AND bucket >= ? AND bucket < ? AND event_type IN (`+types+`)
		GROUP BY bucket, event_type, value HAVING sum(events) <> 0`, args...)
	if err != nil {
		return nil, d.fail("rollups", err)
	}
	defer rows.Close()
	var out []store.RollupCount
	for rows.Next() {
		var c store.RollupCount
		if err := rows.Scan(&c.Bucket, &c.EventType, &c.Value, &c.Events); err != nil {
			return nil, d.fail("rollups", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("rollups", err)
	}
	return out, nil
}
