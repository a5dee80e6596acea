package event

import "time"

// MarkerKind names an operational moment worth marking on the live charts.
type MarkerKind string

// Marker kinds.
const (
	MarkerRebalance   MarkerKind = "rebalance"
	MarkerCommitStall MarkerKind = "commit_stall"
	MarkerDLQBurst    MarkerKind = "dlq_burst"
)

// Marker is one such moment: a rebalance, a commit stall, a burst of
// dead letters.
type Marker struct {
	T      time.Time  `json:"t"`
	Kind   MarkerKind `json:"kind"`
	Detail string     `json:"detail"`
}
