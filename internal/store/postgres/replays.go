package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// MarkReplayed records replayed dead letters.
func (d *DB) MarkReplayed(ctx context.Context, topic string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if d.closed.Load() {
		return store.ErrClosed
	}
	cleaned := make([]string, len(ids))
	for i, id := range ids {
		cleaned[i] = clean(id)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO replays (dlq_topic, dlq_id, replayed_at)
		SELECT $1, id, $3 FROM unnest($2::text[]) AS id ON CONFLICT DO NOTHING`, clean(topic), cleaned, at)
	if err != nil {
		return d.fail("mark replayed", err)
	}
	return nil
}

// Replayed returns when each replayed one of ids was first replayed.
func (d *DB) Replayed(ctx context.Context, topic string, ids []string) (map[string]time.Time, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	out := make(map[string]time.Time)
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := d.pool.Query(ctx, `SELECT dlq_id, replayed_at FROM replays WHERE dlq_topic = $1 AND dlq_id = ANY($2)`,
		clean(topic), ids)
	var (
		id string
		at time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error {
		out[id] = at.UTC()
		return nil
	}); err != nil {
		return nil, d.fail("replayed", err)
	}
	return out, nil
}

var _ store.Replays = (*DB)(nil)
