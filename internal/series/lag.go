package series

import "time"

// LagInterval spaces the lag samples the monitor keeps.
const LagInterval = 5 * time.Second

// LagPoint is one sample of the consumer group's lag.
type LagPoint struct {
	T               time.Time `json:"t"`
	TotalLag        int64     `json:"total_lag"`
	MaxLagSeconds   float64   `json:"max_lag_seconds"`
	EventsPerSecond float64   `json:"events_per_second"`
}
