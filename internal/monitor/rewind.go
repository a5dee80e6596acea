package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
)

// Rewind plans (dryRun) or applies a rewind of the monitored group on its
// topic (see kafka.Admin.Rewind). An applied rewind that moves records
// (back to process again, or ahead to skip) raises a rewind marker on the
// lag chart, whose detail names the offsets to process again: the message
// timeline reads them.
func (mon *Group) Rewind(ctx context.Context, to kafka.Target, partitions []int32, dryRun bool) (kafka.RewindPlan, error) {
	req := kafka.RewindRequest{Group: mon.cfg.Group, Topic: mon.cfg.Topic, To: to, Partitions: partitions}
	if dryRun {
		return mon.deps.Admin.PlanRewind(ctx, req)
	}
	// Held so that no sample runs between the move and the detector
	// learning of it: the move is marked once, here.
	mon.sampleMu.Lock()
	plan, err := mon.deps.Admin.Rewind(ctx, req, 0)
	if err == nil {
		targets := make(map[int32]int64, len(plan.Partitions))
		for _, p := range plan.Partitions {
			targets[p.Partition] = p.Target
		}
		mon.det.rewound(mon.now(), targets)
	}
	mon.sampleMu.Unlock()
	if err != nil {
		return plan, err
	}
	if plan.Records == 0 && plan.Skipped == 0 {
		return plan, nil // nothing moved: nothing to mark
	}
	var ranges []event.RewoundRange
	for _, p := range plan.Partitions {
		if p.Records > 0 {
			ranges = append(ranges, event.RewoundRange{Partition: p.Partition, From: p.Target, To: p.Current})
		}
	}
	at := time.Now().UTC()
	if plan.AppliedAt != nil {
		at = *plan.AppliedAt
	}
	detail := event.RewindDetail(plan.Group, plan.Topic, plan.To, ranges, plan.Records)
	if plan.Skipped > 0 {
		detail += fmt.Sprintf(", %d skipped", plan.Skipped)
	}
	mon.raise([]event.Marker{{T: at, Kind: event.MarkerRewind, Detail: detail}})
	return plan, nil
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
