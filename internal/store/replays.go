package store

import (
	"context"
	"time"
)

// ReplayKeep is how long a replay is remembered: longer than a DLQ topic
// keeps its records by default (7 days).
const ReplayKeep = 30 * 24 * time.Hour

// Replays remembers which dead letters were replayed, so that the console
// marks them and a replay of a group or of everything skips them, across
// restarts and on every server. A dead letter is named by its DLQ topic
// and "<partition>:<offset>" there.
type Replays interface {
	// MarkReplayed records that the dead letters ids of topic were
	// replayed at at; marking one again keeps the first time.
	MarkReplayed(ctx context.Context, topic string, ids []string, at time.Time) error
	// Replayed returns when each of ids that was replayed was first
	// replayed; ids never replayed are absent.
	Replayed(ctx context.Context, topic string, ids []string) (map[string]time.Time, error)
}
