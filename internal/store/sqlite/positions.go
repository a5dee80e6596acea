package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pulse-dev/pulse/internal/store"
)

const upsertPositionSQL = `INSERT INTO positions (topic, "partition", next_offset) VALUES (?, ?, ?)
ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)`

// writePositions moves the positions of the partitions batches hold, in
// the batches' transaction: one row per partition, whatever the batch
// size.
func writePositions(tx *sql.Tx, batches [][]store.Record) error {
	for _, p := range store.BatchPositions(batches...) {
		if _, err := tx.Exec(upsertPositionSQL, p.Topic, p.Partition, p.Next); err != nil {
			return fmt.Errorf("position of %s/%d: %w", p.Topic, p.Partition, err)
		}
	}
	return nil
}

// Positions returns where the records written end, per topic and
// partition.
func (d *DB) Positions(ctx context.Context) (store.Positions, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.r.QueryContext(ctx, `SELECT topic, "partition", next_offset FROM positions`)
	if err != nil {
		return nil, d.fail("positions", err)
	}
	defer rows.Close()
	out := store.Positions{}
	for rows.Next() {
		var (
			topic string
			p     int32
			next  int64
		)
		if err := rows.Scan(&topic, &p, &next); err != nil {
			return nil, d.fail("positions", err)
		}
		if out[topic] == nil {
			out[topic] = map[int32]int64{}
		}
		out[topic][p] = next
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("positions", err)
	}
	return out, nil
}
