package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// upsertPositionsSQL moves the positions of the partitions a batch holds,
// in the batch's transaction: one row per partition, whatever its size.
const upsertPositionsSQL = `INSERT INTO positions (topic, "partition", next_offset)
SELECT * FROM unnest($1::text[], $2::int4[], $3::int8[])
ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = GREATEST(positions.next_offset, excluded.next_offset)`

// positionArrays are upsertPositionsSQL's arguments for batch, nil when
// no record of it came from Kafka.
func positionArrays(batch []store.Record) []any {
	ps := store.BatchPositions(batch)
	if len(ps) == 0 {
		return nil
	}
	topics := make([]string, len(ps))
	parts := make([]int32, len(ps))
	next := make([]int64, len(ps))
	for i, p := range ps {
		topics[i], parts[i], next[i] = p.Topic, p.Partition, p.Next
	}
	return []any{topics, parts, next}
}

// Positions returns where the records written end, per topic and
// partition.
func (d *DB) Positions(ctx context.Context) (store.Positions, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, _ := d.pool.Query(ctx, `SELECT topic, "partition", next_offset FROM positions`)
	out := store.Positions{}
	var (
		topic string
		p     int32
		next  int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&topic, &p, &next}, func() error {
		if out[topic] == nil {
			out[topic] = map[int32]int64{}
		}
		out[topic][p] = next
		return nil
	}); err != nil {
		return nil, d.fail("positions", err)
	}
	return out, nil
}
