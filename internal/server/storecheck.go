package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/config"
)

// gapReadWait bounds the read that tells a real gap from one made only
// of transaction markers and aborted records.
const gapReadWait = 3 * time.Second

// checkStoreBehind runs before this process's consumers join the group:
// offsets are committed only after the store has committed the records
// below them, so a committed offset past the store's position of a
// partition, with records in between, means the store lost what it had
// written: the database was deleted, emptied or restored from an older
// copy. Consuming on would leave those records out of it for good, while
// health said all is well. What happens then is --store-behind's choice:
// refuse to start (the default), move the group back to the store's
// positions so that the consumers store again what Kafka still holds, or
// go on.
func (s *Server) checkStoreBehind(ctx context.Context) error {
	if len(s.consumers) == 0 || s.cfg.Pipeline.StoreBehind == config.StoreBehindIgnore {
		return nil
	}
	// Committed offsets first: a member elsewhere stores before it
	// commits, so positions read after them are never behind for that.
	committed, err := s.admin.Committed(ctx, s.cfg.Kafka.Group, s.cfg.Kafka.Topic)
	if err != nil {
		return fmt.Errorf("compare the store with the consumer group's offsets: %w", err)
	}
	positions, err := s.store.Positions(ctx)
	if err != nil {
		return fmt.Errorf("compare the store with the consumer group's offsets: %w", err)
	}
	from, until := map[int32]int64{}, map[int32]int64{}
	for p, c := range committed {
		if pos := positions.Of(s.cfg.Kafka.Topic, p); c > pos {
			from[p], until[p] = pos, c
		}
	}
	if len(from) == 0 {
		return nil
	}
	missing, err := s.admin.FirstRecords(ctx, s.cfg.Kafka.Topic, from, until, gapReadWait)
	if err != nil {
		return fmt.Errorf("compare the store with the consumer group's offsets: %w", err)
	}
	if len(missing) == 0 {
		// Only markers and aborted records lie between: nothing lost.
		return nil
	}
	var parts []string
	for _, p := range slices.Sorted(maps.Keys(missing)) {
		parts = append(parts, fmt.Sprintf("partition %d: the store holds records up to offset %d, the group committed %d",
			p, from[p], until[p]))
	}
	what := fmt.Sprintf("the database has lost records that consumer group %s already stored from %s (%s): it was deleted, emptied or restored from an older copy",
		s.cfg.Kafka.Group, s.cfg.Kafka.Topic, strings.Join(parts, "; "))
	if s.cfg.Pipeline.StoreBehind != config.StoreBehindReprocess {
		return fmt.Errorf("%s. Restore the database, or start with --store-behind reprocess to store again what Kafka still holds (records Kafka has deleted cannot come back), or --store-behind ignore to go on without them", what)
	}
	back := make(map[int32]int64, len(missing))
	for p := range missing {
		back[p] = from[p]
	}
	if err := s.admin.MoveGroupOffsets(ctx, s.cfg.Kafka.Group, s.cfg.Kafka.Topic, back); err != nil {
		return fmt.Errorf("%s; --store-behind reprocess: %w", what, err)
	}
	s.log.Warn("the store was behind the consumer group: moved the group back to store again what Kafka holds",
		"component", "pipeline", "group", s.cfg.Kafka.Group, "topic", s.cfg.Kafka.Topic, "offsets", back, "detail", what)
	return nil
}
