package store

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// The rollups count the stored events per bucket of their event time, type
// and one dimension's value, at two widths: minutes for short ranges and
// hours for long ones. Each batch's transaction adds to them and retention
// takes off what it deletes, so they agree with the rows, and a trend over
// any range reads rows per bucket, never the events.
const (
	RollupMinute int64 = 60
	RollupHour   int64 = 3600
)

// RollupWidths are the widths every event is counted at.
var RollupWidths = []int64{RollupMinute, RollupHour}

// The dimensions an event is counted by. DimAll counts it once, with the
// value "".
const (
	DimAll     = ""
	DimPage    = "page"
	DimElement = "element_id"
	DimSource  = "source_id"
)

// RollupDims are the dimensions every event is counted by.
var RollupDims = []string{DimAll, DimPage, DimElement, DimSource}

// RollupKey is one rollup row. The partition is in the key, as in the
// series, so that writers of different partitions never share a row.
type RollupKey struct {
	Width, Bucket int64
	EventType     string
	Dim, Value    string
	Partition     int32
}

// RollupDelta is what a transaction adds to (or takes off) the rollups.
type RollupDelta map[RollupKey]int64

// Event counts an event stored (sign 1) or deleted (-1) at every width
// and dimension.
func (d RollupDelta) Event(partition int32, ts time.Time, eventType, page, elementID, sourceID string, sign int64) {
	values := [...]string{"", page, elementID, sourceID}
	for _, w := range RollupWidths {
		b := RollupBucket(ts, w)
		for i, dim := range RollupDims {
			d[RollupKey{w, b, eventType, dim, values[i], partition}] += sign
		}
	}
}

// RollupBucket is the start, in Unix seconds, of the bucket of width
// seconds holding t.
func RollupBucket(t time.Time, width int64) int64 {
	sec := t.Unix()
	return sec - mod(sec, width)
}

// mod is the remainder towards negative infinity, so that times before
// 1970 fall into the bucket below them too.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Rows returns the changed keys in key order: writers that lock rows in
// one order cannot deadlock on them.
func (d RollupDelta) Rows() []RollupKey {
	keys := make([]RollupKey, 0, len(d))
	for k, n := range d {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b RollupKey) int {
		return cmp.Or(cmp.Compare(a.Width, b.Width), cmp.Compare(a.Dim, b.Dim), cmp.Compare(a.EventType, b.EventType),
			cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Value, b.Value), cmp.Compare(a.Partition, b.Partition))
	})
	return keys
}

// RollupQuery selects rollup counts: one width and dimension, the buckets
// in [From, To), and the event types in Types (all when empty).
type RollupQuery struct {
	Width    int64
	Dim      string
	From, To time.Time
	Types    []string
}

// RollupCount is the events of one bucket, type and value, summed over the
// partitions.
type RollupCount struct {
	Bucket    int64
	EventType string
	Value     string
	Events    int64
}

// Rollups is the store's part of the insights.
type Rollups interface {
	// RollupCounts returns the counts q selects, in no particular order;
	// rows at zero are left out.
	RollupCounts(ctx context.Context, q RollupQuery) ([]RollupCount, error)
}
