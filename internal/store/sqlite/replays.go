package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// MarkReplayed records replayed dead letters.
func (d *DB) MarkReplayed(ctx context.Context, topic string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if err := d.writable(); err != nil {
		return err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail("mark replayed", err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO replays (dlq_topic, dlq_id, replayed_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, topic, id, micros(at)); err != nil {
			_ = tx.Rollback()
			return d.fail("mark replayed", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return d.fail("mark replayed", err)
	}
	return nil
}

// replayedChunk bounds the ids of one lookup (SQLite's variable limit is
// 32,766; a DLQ view lists at most 10,000).
const replayedChunk = 500

// Replayed returns when each replayed one of ids was first replayed.
func (d *DB) Replayed(ctx context.Context, topic string, ids []string) (map[string]time.Time, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	out := make(map[string]time.Time)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), replayedChunk)]
		ids = ids[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, topic)
		for _, id := range chunk {
			args = append(args, id)
		}
		q := `SELECT dlq_id, replayed_at FROM replays WHERE dlq_topic = ? AND dlq_id IN (?` +
			strings.Repeat(", ?", len(chunk)-1) + `)`
		rows, err := d.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, d.fail("replayed", err)
		}
		for rows.Next() {
			var (
				id string
				at int64
			)
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return nil, d.fail("replayed", err)
			}
			out[id] = fromMicros(at)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, d.fail("replayed", err)
		}
	}
	return out, nil
}

var _ store.Replays = (*DB)(nil)
