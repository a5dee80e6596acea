package event

import "time"

// MarkerKind names an operational moment worth marking on the live charts.
type MarkerKind string

// Marker kinds.
const (
	MarkerRebalance   MarkerKind = "rebalance"
	MarkerCommitStall MarkerKind = "commit_stall"
	MarkerDLQBurst    MarkerKind = "dlq_burst"
	// An alert rule started firing, or resolved.
	MarkerAlertFiring   MarkerKind = "alert_firing"
	MarkerAlertResolved MarkerKind = "alert_resolved"
)

// Marker is one such moment: a rebalance, a commit stall, a burst of
// dead letters, an alert firing or resolving.
type Marker struct {
	T      time.Time  `json:"t"`
	Kind   MarkerKind `json:"kind"`
	Detail string     `json:"detail"`
}
