package server

import (
	"context"
	"fmt"
	"slices"

	"github.com/pulse-dev/pulse/internal/api"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/monitor"
)

// ingest gives the API the producer in the shape it declares.
type ingest struct{ p *kafka.Producer }

func (i ingest) Produce(ctx context.Context, e *event.Event, src event.Source, requestID string) (api.Ack, error) {
	ack, err := i.p.Produce(ctx, e, src, requestID)
	return api.Ack{Topic: ack.Topic, Partition: ack.Partition, Offset: ack.Offset}, err
}

func (i ingest) ProduceBatch(ctx context.Context, events []*event.Event, src event.Source, requestID string) error {
	return i.p.ProduceBatch(ctx, events, src, requestID)
}

// groupReport answers /api/consumer_metrics/ from the group monitor's
// latest sample: the group's partitions and lag from the broker, with
// the counters of this process's members. Members running in other
// processes are listed with their partitions.
type groupReport struct{ monitor *monitor.Group }

func (g groupReport) ConsumerMetrics(ctx context.Context) (api.ConsumerMetrics, error) {
	v, err := g.monitor.Consumers(ctx)
	if err != nil {
		return api.ConsumerMetrics{}, fmt.Errorf("group lag: %w", err)
	}
	out := api.ConsumerMetrics{
		Group: v.Group, Topic: v.Topic, TotalLag: v.TotalLag,
		Consumers: []api.ConsumerStats{}, Partitions: []api.PartitionLag{},
	}
	for _, p := range v.Partitions {
		out.Partitions = append(out.Partitions, api.PartitionLag{
			Partition: p.Partition, CommittedOffset: p.CommittedOffset, EndOffset: p.EndOffset, Lag: p.Lag,
		})
	}
	for _, snap := range v.Local {
		out.Consumers = append(out.Consumers, api.ConsumerStats{
			ConsumerID: snap.ConsumerID, Partitions: snap.Partitions,
			Processed: snap.Processed, Failed: snap.Failed, Retried: snap.Retried,
			DeadLettered: snap.DeadLettered, AvgProcessingTimeMS: snap.AvgProcessingTimeMS,
			InFlight: snap.InFlight, LastCommitAt: snap.LastCommitAt,
		})
	}
	for _, m := range v.Members {
		if m.Local {
			continue
		}
		out.Consumers = append(out.Consumers, api.ConsumerStats{ConsumerID: m.ClientID, Partitions: slices.Clone(m.Partitions)})
	}
	return out, nil
}
