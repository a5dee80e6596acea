package series

import (
	"cmp"
	"slices"
	"time"
)

// EventKey is one row of the events series: a bucket, a partition and an
// event type. The partition is in the key so that consumers owning
// different partitions never update the same row (no lock waits between
// them on PostgreSQL); a partition's writers already take turns on its
// position row.
type EventKey struct {
	Bucket    int64
	Partition int32
	EventType string
}

// BinKey is one row of the latency series.
type BinKey struct {
	Bucket    int64
	Partition int32
	Bin       int
}

// Delta is what one write adds to the series: counts to add to rows.
type Delta struct {
	Events  map[EventKey]int64
	Latency map[BinKey]int64
}

// Add counts one newly stored event, stored at storedAt with the given
// event time.
func (d *Delta) Add(storedAt time.Time, partition int32, eventType string, eventTime time.Time) {
	if d.Events == nil {
		d.Events = make(map[EventKey]int64)
		d.Latency = make(map[BinKey]int64)
	}
	b := BucketOf(storedAt)
	d.Events[EventKey{b, partition, eventType}]++
	d.Latency[BinKey{b, partition, LatencyBin(storedAt.Sub(eventTime))}]++
}

// Empty reports whether d adds nothing.
func (d *Delta) Empty() bool { return len(d.Events) == 0 }

// EventRows returns the event rows in key order: writers that lock rows
// in one order cannot deadlock on them.
func (d *Delta) EventRows() []EventKey {
	keys := make([]EventKey, 0, len(d.Events))
	for k := range d.Events {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b EventKey) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Partition, b.Partition),
			cmp.Compare(a.EventType, b.EventType))
	})
	return keys
}

// BinRows returns the latency rows in key order.
func (d *Delta) BinRows() []BinKey {
	keys := make([]BinKey, 0, len(d.Latency))
	for k := range d.Latency {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b BinKey) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Bin, b.Bin))
	})
	return keys
}
