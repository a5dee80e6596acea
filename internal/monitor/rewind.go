package monitor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
)

// Rewind plans (dryRun) or applies a rewind of the monitored group on its
// topic (see kafka.Admin.Rewind). A rewind that moves records (back to
// process again, or ahead to skip) raises a rewind marker on the lag
// chart, whose detail names the offsets to process again: the message
// timeline reads them. A rewind that gave up part way returns its error
// with the plan, and its marker names only the partitions that moved.
func (mon *Group) Rewind(ctx context.Context, to kafka.Target, partitions []int32, dryRun bool) (kafka.RewindPlan, error) {
	req := kafka.RewindRequest{Group: mon.cfg.Group, Topic: mon.cfg.Topic, To: to, Partitions: partitions}
	if dryRun {
		return mon.deps.Admin.PlanRewind(ctx, req)
	}
	// Sampling goes on while the members move (up to RewindWait): the
	// detector is told the rewind is under way, leaves the moves of its
	// partitions unmarked meanwhile, and learns the targets at the end,
	// so that the move is marked once, here. sampleMu orders this with
	// the samples: none read before the start is judged after it.
	scope := rewindScope(to, partitions)
	mon.sampleMu.Lock()
	mon.det.rewindStarted(scope)
	mon.sampleMu.Unlock()
	plan, err := mon.endRewind(scope, func() (kafka.RewindPlan, error) {
		return mon.deps.Admin.Rewind(ctx, req, mon.cfg.RewindWait)
	})
	mon.markRewind(plan)
	return plan, err
}

// endRewind runs apply and then tells the detector the rewind of scope
// ended with the targets of the partitions it moved; deferred, so that a
// panic does not leave the detector muted.
func (mon *Group) endRewind(scope []int32, apply func() (kafka.RewindPlan, error)) (plan kafka.RewindPlan, err error) {
	defer func() {
		targets := make(map[int32]int64, len(plan.Partitions))
		for _, p := range plan.Partitions {
			if p.Moved {
				targets[p.Partition] = p.Target
			}
		}
		mon.sampleMu.Lock()
		mon.det.rewindEnded(scope, mon.now(), targets)
		mon.sampleMu.Unlock()
	}()
	return apply()
}

// rewindScope is the partitions a rewind may move, nil for every one.
func rewindScope(to kafka.Target, partitions []int32) []int32 {
	if to.Offsets != nil {
		return slices.Collect(maps.Keys(to.Offsets))
	}
	if len(partitions) > 0 {
		return slices.Clone(partitions)
	}
	return nil
}

// markRewind raises the rewind marker of the partitions plan moved,
// naming the offsets they process again; none when they moved no record.
func (mon *Group) markRewind(plan kafka.RewindPlan) {
	var ranges []event.RewoundRange
	var records, skipped int64
	for _, p := range plan.Partitions {
		if !p.Moved {
			continue
		}
		records += p.Records
		skipped += p.Skipped
		if p.Records > 0 {
			ranges = append(ranges, event.RewoundRange{Partition: p.Partition, From: p.Target, To: p.Current})
		}
	}
	if records == 0 && skipped == 0 {
		return // nothing moved: nothing to mark
	}
	at := time.Now().UTC()
	if plan.AppliedAt != nil {
		at = *plan.AppliedAt
	}
	detail := event.RewindDetail(plan.Group, plan.Topic, plan.To, ranges, records)
	if skipped > 0 {
		detail += fmt.Sprintf(", %d skipped", skipped)
	}
	if !plan.Applied {
		detail += "; partially applied: partition " + kafka.JoinPartitions(plan.UnmovedPartitions(), ", ") + " not moved"
	}
	mon.raise([]event.Marker{{T: at, Kind: event.MarkerRewind, Detail: detail}})
}

// Rewinds returns the rewind markers since a time, oldest first, at most
// maxMarkers of them.
func (mon *Group) Rewinds(ctx context.Context, since time.Time) ([]event.Marker, error) {
	ms, err := mon.deps.History.Markers(ctx, since, mon.now().Add(time.Minute), maxMarkers)
	if err != nil {
		return nil, fmt.Errorf("read rewind markers: %w", err)
	}
	out := ms[:0]
	for _, m := range ms {
		if m.Kind == event.MarkerRewind {
			out = append(out, m)
		}
	}
	return out, nil
}
