package monitor

import (
	"sort"

	"github.com/pulse-dev/pulse/internal/pipeline"
)

// HeldKey is a key held back by a member of this process.
type HeldKey struct {
	pipeline.HeldKey
	ConsumerID string `json:"consumer_id"`
}

// OrderingPartition is the commit position of one partition owned here.
type OrderingPartition struct {
	Partition  int32  `json:"partition"`
	ConsumerID string `json:"consumer_id"`
	// LowestUnfinished is nil when nothing is unfinished.
	LowestUnfinished *int64 `json:"lowest_unfinished"`
	// Committed is -1 when this member has committed nothing yet.
	Committed int64 `json:"committed"`
}

// OrderingView is the answer of GET /api/ordering/.
type OrderingView struct {
	HeldKeys      []HeldKey           `json:"held_keys"`
	HeldKeysTotal int                 `json:"held_keys_total"`
	Partitions    []OrderingPartition `json:"partitions"`
}

// Ordering returns the keys the members of this process hold back now,
// oldest first per partition, and each owned partition's watermarks.
func (mon *Group) Ordering() OrderingView {
	v := OrderingView{HeldKeys: []HeldKey{}, Partitions: []OrderingPartition{}}
	for _, m := range mon.deps.Members {
		s := m.Snapshot()
		v.HeldKeysTotal += s.HeldKeysTotal
		for _, h := range s.HeldKeys {
			v.HeldKeys = append(v.HeldKeys, HeldKey{HeldKey: h, ConsumerID: s.ConsumerID})
		}
		for _, w := range s.Watermarks {
			op := OrderingPartition{Partition: w.Partition, ConsumerID: s.ConsumerID, Committed: w.Committed}
			if w.LowestUnfinished >= 0 {
				off := w.LowestUnfinished
				op.LowestUnfinished = &off
			}
			v.Partitions = append(v.Partitions, op)
		}
	}
	sort.Slice(v.HeldKeys, func(i, j int) bool {
		a, b := v.HeldKeys[i], v.HeldKeys[j]
		if a.Partition != b.Partition {
			return a.Partition < b.Partition
		}
		return a.Offset < b.Offset
	})
	sort.Slice(v.Partitions, func(i, j int) bool { return v.Partitions[i].Partition < v.Partitions[j].Partition })
	return v
}
