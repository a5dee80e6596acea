package store

import (
	"cmp"
	"slices"

	"github.com/pulse-dev/pulse/internal/event"
)

// The kinds of running total a store keeps (the totals table), from which
// Totals is read without a scan: start-up and each reconciliation cost the
// same at 10 M events as at 10.
const (
	TotalType   = "type"   // events per event_type
	TotalClick  = "click"  // button_click events per element_id
	TotalStatus = "status" // processing-log rows per status, with their duration
)

// TotalsKey is one running total of one partition. The totals are kept
// per partition because a partition has one writer at a time: two
// servers writing to one PostgreSQL never wait on each other's row.
type TotalsKey struct {
	Partition int32
	Kind, Key string
}

// TotalsDelta is what a transaction adds to (or, deleting rows, takes off)
// the running totals.
type TotalsDelta struct {
	N  map[TotalsKey]int64
	MS map[TotalsKey]float64
}

func (d *TotalsDelta) add(k TotalsKey, n int64, ms float64) {
	if d.N == nil {
		d.N, d.MS = map[TotalsKey]int64{}, map[TotalsKey]float64{}
	}
	d.N[k] += n
	d.MS[k] += ms
}

// Event counts an event row stored (sign 1) or deleted (-1).
func (d *TotalsDelta) Event(partition int32, eventType, elementID string, sign int64) {
	d.add(TotalsKey{partition, TotalType, eventType}, sign, 0)
	if eventType == event.TypeButtonClick {
		d.add(TotalsKey{partition, TotalClick, elementID}, sign, 0)
	}
}

// Message counts a processing-log row with status and duration stored
// (sign 1) or deleted or replaced (-1). Only completed rows sum their
// duration (the average processing time); a dead letter's is not kept.
func (d *TotalsDelta) Message(partition int32, status event.Status, durationMS float64, sign int64) {
	if status != event.StatusCompleted {
		durationMS = 0
	}
	d.add(TotalsKey{partition, TotalStatus, string(status)}, sign, float64(sign)*durationMS)
}

// Rows returns the keys that change, in key order (so that two writers
// lock rows in the same order).
func (d *TotalsDelta) Rows() []TotalsKey {
	keys := make([]TotalsKey, 0, len(d.N))
	for k, n := range d.N {
		if n != 0 || d.MS[k] != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b TotalsKey) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	return keys
}

// NewTotals returns empty Totals.
func NewTotals() Totals {
	return Totals{EventTypes: map[string]int64{}, Clicks: map[string]int64{}, Messages: map[event.Status]int64{}}
}

// AddRow adds one stored running total (summed over partitions by the
// caller's query or here) to t. Totals at zero are left out, as a scan
// would not see them.
func (t *Totals) AddRow(kind, key string, n int64, ms float64) {
	if n == 0 {
		return
	}
	switch kind {
	case TotalType:
		t.EventTypes[key] += n
		t.Events += n
	case TotalClick:
		t.Clicks[key] += n
	case TotalStatus:
		t.Messages[event.Status(key)] += n
		if event.Status(key) == event.StatusCompleted {
			t.ProcessingCount += n
			t.ProcessingMSSum += ms
		}
	}
}
