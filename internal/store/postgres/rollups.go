package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// RollupCounts reads the rollup rows of q's width, dimension, types and
// buckets through the primary key: per type, the range's buckets only.
func (d *DB) RollupCounts(ctx context.Context, q store.RollupQuery) ([]store.RollupCount, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	if key, ok := strings.CutPrefix(q.Dim, store.PropertyPrefix); ok {
		return d.propertyCounts(ctx, key, q)
	}
	out, err := rollupCounts(ctx, d.pool, q)
	if err != nil {
		return nil, d.fail("rollups", err)
	}
	return out, nil
}

// rollupCounts reads the rows of q's width, dimension (as stored), types
// and buckets on db.
func rollupCounts(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, q store.RollupQuery) ([]store.RollupCount, error) {
	// Without types, the types the totals know: each is a range of the
	// key, where a filter on the bucket alone would read every bucket.
	types := q.Types
	if len(types) == 0 {
		rows, _ := db.Query(ctx, `SELECT DISTINCT key FROM totals WHERE kind = 'type'`)
		var err error
		if types, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, err
		}
	}
	rows, _ := db.Query(ctx, `SELECT bucket, event_type, value, sum(events)::int8 FROM rollups
		WHERE width = $1 AND dim = $2 AND event_type = ANY($3::text[]) AND bucket >= $4 AND bucket < $5
		GROUP BY bucket, event_type, value HAVING sum(events) <> 0`,
		q.Width, q.Dim, types, q.From.Unix(), q.To.Unix())
	var (
		out []store.RollupCount
		c   store.RollupCount
	)
	if _, err := pgx.ForEachRow(rows, []any{&c.Bucket, &c.EventType, &c.Value, &c.Events}, func() error {
		out = append(out, c)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}
