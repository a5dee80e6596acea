package store

import (
	"cmp"
	"slices"
)

// Positions are, per topic and partition, the offset after the last
// record a store wrote: where the work of its consumers ends. Offsets are
// committed only after the store has committed the records below them, so
// a consumer group's committed offset above its store's position means
// the store lost what it had written: the database was deleted, emptied,
// or restored from an older copy.
type Positions map[string]map[int32]int64

// Of returns the position of topic's partition p, 0 when none is known.
func (p Positions) Of(topic string, partition int32) int64 {
	return p[topic][partition]
}

// Position is where a batch moves one partition to.
type Position struct {
	Topic     string
	Partition int32
	Next      int64
}

// BatchPositions folds batches into the positions they move each partition
// to, ordered by topic and partition (so that two writers updating the
// same rows take their locks in one order). Records without a topic, not
// read from Kafka, move nothing.
func BatchPositions(batches ...[]Record) []Position {
	var out []Position
	for _, batch := range batches {
		for i := range batch {
			m := &batch[i].Message
			if m.Topic == "" {
				continue
			}
			j := slices.IndexFunc(out, func(p Position) bool { return p.Topic == m.Topic && p.Partition == m.Partition })
			if j < 0 {
				out = append(out, Position{Topic: m.Topic, Partition: m.Partition, Next: m.Offset + 1})
				continue
			}
			out[j].Next = max(out[j].Next, m.Offset+1)
		}
	}
	slices.SortFunc(out, func(a, b Position) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}
