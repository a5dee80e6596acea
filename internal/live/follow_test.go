package live

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// runFollower runs f until the test ends.
func runFollower(t *testing.T, f *Follower) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestFollowerAppliesBeforePassingOn: whatever a subscriber of the
// Follower has received, the statistics count already.
func TestFollowerAppliesBeforePassingOn(t *testing.T) {
	bus := NewBus(nil, nil)
	stats := NewStats(store.Totals{}, nil)
	f := NewFollower(bus, stats, nil, nil)
	sub, cancel := f.Subscribe(1024)
	defer cancel()
	runFollower(t, f)
	const n = 500
	go func() {
		for i := range n {
			bus.Publish(change(fmt.Sprintf("e%d", i)))
		}
	}()
	for i := range n {
		c := recv(t, sub)
		if id := c.Events[0].EventID; id != fmt.Sprintf("e%d", i) {
			t.Fatalf("change %d is %s", i, id)
		}
		if got := stats.Snapshot().TotalEvents; got < int64(i+1) {
			t.Fatalf("received %d changes, the statistics count %d", i+1, got)
		}
	}
}

// TestFollowerAppliesWithoutSubscribers: a process without a hub keeps
// its statistics the same way.
func TestFollowerAppliesWithoutSubscribers(t *testing.T) {
	bus := NewBus(nil, nil)
	stats := NewStats(store.Totals{}, nil)
	runFollower(t, NewFollower(bus, stats, nil, nil))
	bus.Publish(event.Change{Events: []event.Stored{stored("a", "button_click", "btn")}})
	deadline := time.Now().Add(5 * time.Second)
	for stats.Snapshot().TotalEvents != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the change was never applied")
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// TestFollowerSlowSubscriberIsNoGap: a subscriber of the Follower with no
// room misses the change, but the statistics counted it, so the bus's gap
// count (which has them rebuilt) does not move.
func TestFollowerSlowSubscriberIsNoGap(t *testing.T) {
	bus := NewBus(nil, nil)
	stats := NewStats(store.Totals{}, nil)
	f := NewFollower(bus, stats, nil, nil)
	_, cancel := f.Subscribe(1)
	defer cancel()
	runFollower(t, f)
	for i := range 3 {
		bus.Publish(change(fmt.Sprintf("s%d", i)))
	}
	deadline := time.Now().Add(5 * time.Second)
	for stats.Snapshot().TotalEvents != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("total %d, want 3", stats.Snapshot().TotalEvents)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	if g := bus.Gaps(); g != 0 {
		t.Fatalf("bus gaps %d, want 0", g)
	}
	if d := value(t, f.out.dropped); d != 2 {
		t.Fatalf("dropped for the slow subscriber %v, want 2", d)
	}
}

// TestFollowerClosesSubscriptionsWhenItStops: a subscriber learns that no
// more changes will come, and may still cancel.
func TestFollowerClosesSubscriptionsWhenItStops(t *testing.T) {
	f := NewFollower(NewBus(nil, nil), NewStats(store.Totals{}, nil), nil, nil)
	sub, cancel := f.Subscribe(1)
	ctx, stop := context.WithCancel(context.Background())
	stop()
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-sub:
		if ok {
			t.Fatal("a change after Run returned")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the subscription is still open")
	}
	cancel()
	if _, ok := <-func() <-chan event.Change { c, _ := f.Subscribe(1); return c }(); ok {
		t.Fatal("a late subscription is open")
	}
}
