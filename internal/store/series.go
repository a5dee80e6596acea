package store

import (
	"context"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/series"
)

// Series keeps the time series the charts load, so that they survive a
// reload and a restart. The events series are written by Write, in the
// batch's transaction, from the events it stores (a redelivery adds
// nothing); the lag and the markers by the group monitor. Retain deletes
// what is older than series.Keep.
type Series interface {
	// EventSeries returns, per step of [from, to), the events stored by
	// type and the histogram of their latency (event time to stored time).
	// Steps start at from + k*step.
	EventSeries(ctx context.Context, from, to time.Time, step time.Duration) ([]series.Count, []series.BinCount, error)
	// WriteLag keeps a lag sample; a second sample at the same time (two
	// servers monitoring one group) replaces the first.
	WriteLag(ctx context.Context, p series.LagPoint) error
	// LagSeries returns one point per step of [from, to) that has
	// samples: the highest lag and lag in seconds, and the average rate.
	LagSeries(ctx context.Context, from, to time.Time, step time.Duration) ([]series.LagPoint, error)
	// WriteMarkers keeps markers; one already kept is not kept twice.
	WriteMarkers(ctx context.Context, ms []event.Marker) error
	// Markers returns the markers of [from, to), oldest first, the newest
	// limit of them.
	Markers(ctx context.Context, from, to time.Time, limit int) ([]event.Marker, error)
}
