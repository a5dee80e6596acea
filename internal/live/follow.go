package live

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
)

// followBuffer is the statistics' subscription buffer: a change they have
// no room for is a gap on the bus, which has them rebuilt from the store.
const followBuffer = 8192

// Follower keeps the statistics following the bus: it owns their
// subscription and its Run folds every change into them, whether or not
// this process serves dashboards.
//
// It is also the bus of whatever shows the statistics next to the changes
// (the hub): it passes each change on to its own subscribers only once it
// has applied it. So a subscriber reads statistics that already count
// every change it has received, and a stats_update or initial_data frame
// never shows totals behind the events a client was sent before it. The
// hub is downstream of the statistics, rather than both subscribing to
// the bus side by side, because two subscribers of one bus run apart: the
// hub could send an event the statistics had not counted yet, and no
// lock on Stats can tell it to wait for a change that is still queued.
//
// The reconciler rebuilds the same statistics when the bus's gap count
// moves; only the Follower's own misses move it, since a subscriber of
// the Follower that has no room misses a frame, not a count.
type Follower struct {
	stats       *Stats
	changes     <-chan event.Change
	unsubscribe func()
	// out fans applied changes out to the Follower's subscribers; a slow
	// one misses changes, counted as pulse_live_bus_dropped_total
	// {bus="stats"}, and never holds the statistics back.
	out *Bus
}

// NewFollower returns the statistics' follower of bus. The subscription
// starts here, so no change published after NewFollower is missed; Run
// must be running for the statistics, and the Follower's subscribers, to
// see changes. reg may be nil.
func NewFollower(bus Subscriber, stats *Stats, log *slog.Logger, reg prometheus.Registerer) *Follower {
	changes, unsubscribe := bus.Subscribe(followBuffer)
	return &Follower{
		stats:       stats,
		changes:     changes,
		unsubscribe: unsubscribe,
		out:         newBus(log, reg, "stats"),
	}
}

// Subscribe returns a channel of the changes the statistics have applied,
// buffered for buf of them, and a cancel function that unsubscribes. The
// channel is closed when Run returns.
func (f *Follower) Subscribe(buf int) (<-chan event.Change, func()) {
	return f.out.Subscribe(buf)
}

// Run applies the bus's changes to the statistics, then hands each to the
// Follower's subscribers, until ctx ends or the bus closes the
// subscription.
func (f *Follower) Run(ctx context.Context) error {
	defer f.out.close()
	defer f.unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c, ok := <-f.changes:
			if !ok {
				return nil
			}
			f.stats.Apply(c)
			f.out.Publish(c)
		}
	}
}
