package live

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// TestReconcileKeepsWhatArrivesDuringTheRead: events applied between Mark
// and Reconcile count on top of totals read in between, so a rebuild under
// load neither dips nor loses them.
func TestReconcileKeepsWhatArrivesDuringTheRead(t *testing.T) {
	s := NewStats(store.Totals{Events: 10, EventTypes: map[string]int64{"page_view": 10}}, nil)
	s.Mark()
	// Read from the store: 50 events, 40 of them never applied here.
	read := store.Totals{Events: 50, EventTypes: map[string]int64{"page_view": 45, "button_click": 5},
		Clicks: map[string]int64{"btn": 5}, Messages: map[event.Status]int64{event.StatusCompleted: 50}}
	// Meanwhile two more arrive through the bus.
	s.Apply(event.Change{Events: []event.Stored{stored("x1", "button_click", "btn"), stored("x2", "page_view", "")},
		Messages: []event.Message{msg("x1", event.StatusCompleted, 4), msg("x2", event.StatusCompleted, 6)}})
	if drift := s.Reconcile(read); drift != 40 {
		t.Fatalf("drift %d, want the 40 events never applied", drift)
	}
	got := s.Snapshot()
	if got.TotalEvents != 52 || got.EventTypes["page_view"] != 46 || got.EventTypes["button_click"] != 6 {
		t.Fatalf("after reconcile: total %d, types %v; want 52, page_view 46, button_click 6", got.TotalEvents, got.EventTypes)
	}
	if got.TopElements[0] != (ElementCount{"btn", 6}) || got.Queue.Completed != 52 {
		t.Fatalf("after reconcile: top %v, completed %d", got.TopElements, got.Queue.Completed)
	}
	// Without a Mark, Reconcile is Reset.
	if drift := s.Reconcile(read); drift != -2 || s.Snapshot().TotalEvents != 50 {
		t.Fatalf("unmarked reconcile: drift %d, total %d", drift, s.Snapshot().TotalEvents)
	}
}

func openReconcileStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func writeEvents(t *testing.T, db *sqlite.DB, prefix string, n int) {
	t.Helper()
	var batch []store.Record
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		e := event.Event{EventID: id, UserID: "u", EventType: "page_view", Timestamp: time.Now()}
		m := msg(id, event.StatusCompleted, 1)
		m.Offset = int64(i)
		m.QueuedAt = time.Now()
		batch = append(batch, store.Record{Event: &e, Message: m})
	}
	if _, err := db.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func runReconciler(t *testing.T, cfg ReconcilerConfig, s *Stats, db *sqlite.DB, gaps GapCounter) *Reconciler {
	t.Helper()
	r := NewReconciler(cfg, s, db, gaps, nil, prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func waitTotal(t *testing.T, s *Stats, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Snapshot().TotalEvents != want {
		if time.Now().After(deadline) {
			t.Fatalf("total %d, want %d", s.Snapshot().TotalEvents, want)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

// TestReconcilerFollowsTheStoreWhenNoChangeArrives is `serve --consumers 0`
// without Redis: another process stores events, none reaches this one's
// bus, and its statistics still come to say how many are stored.
func TestReconcilerFollowsTheStoreWhenNoChangeArrives(t *testing.T) {
	db := openReconcileStore(t)
	s := NewStats(store.Totals{}, nil)
	runReconciler(t, ReconcilerConfig{Always: true, MinInterval: 20 * time.Millisecond, Check: 10 * time.Millisecond}, s, db, nil)
	writeEvents(t, db, "a", 30)
	waitTotal(t, s, 30)
	writeEvents(t, db, "b", 5)
	waitTotal(t, s, 35)
}

// TestReconcilerRebuildsAfterAGap: a bus that lost changes moves its gap
// count, and only then are the statistics rebuilt.
func TestReconcilerRebuildsAfterAGap(t *testing.T) {
	db := openReconcileStore(t)
	s := NewStats(store.Totals{}, nil)
	bus := NewBus(nil, nil)
	changes, cancel := bus.Subscribe(1)
	defer cancel()
	r := runReconciler(t, ReconcilerConfig{MinInterval: 20 * time.Millisecond, Check: 10 * time.Millisecond}, s, db, bus)
	writeEvents(t, db, "a", 3)
	// The stored events were never published: with no gap nothing is
	// rebuilt. A change the subscriber takes proves the loop has run
	// checks since.
	bus.Publish(change("seen"))
	<-changes
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		if n := s.Snapshot().TotalEvents; n != 0 {
			t.Fatalf("rebuilt without a gap: total %d", n)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	// The subscriber's buffer holds one; the second is a gap.
	bus.Publish(change("x"))
	bus.Publish(change("y"))
	waitTotal(t, s, 3)
	if v := value(t, r.runs); v != 1 {
		t.Fatalf("%v rebuilds, want 1", v)
	}
}
