package live

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func stored(id, typ, elem string) event.Stored {
	return event.Stored{Event: event.Event{EventID: id, UserID: "u1", EventType: typ, ElementID: elem}, Source: event.SourceAPI}
}

func msg(id string, st event.Status, ms float64) event.Message {
	return event.Message{EventID: id, EventType: "button_click", Status: st, Source: event.SourceAPI, DurationMS: ms}
}

func TestStatsSeededFromTotals(t *testing.T) {
	clk := newClock()
	s := NewStats(store.Totals{
		Events:          100,
		EventTypes:      map[string]int64{"page_view": 60, "button_click": 40},
		Clicks:          map[string]int64{"btn_a": 30, "btn_b": 10},
		Messages:        map[event.Status]int64{event.StatusCompleted: 95, event.StatusDeadLettered: 5},
		ProcessingMSSum: 950,
		ProcessingCount: 95,
		Recent:          30,
	}, clk.now)
	got := s.Snapshot()
	if got.TotalEvents != 100 || got.EventTypes["page_view"] != 60 || got.EventTypes["button_click"] != 40 {
		t.Fatalf("totals: %+v", got)
	}
	if len(got.TopElements) != 2 || got.TopElements[0] != (ElementCount{"btn_a", 30}) {
		t.Fatalf("top elements: %+v", got.TopElements)
	}
	q := got.Queue
	if q.Total != 100 || q.Completed != 95 || q.DeadLettered != 5 || q.AvgProcessingTimeMS != 10 {
		t.Fatalf("queue: %+v", q)
	}
	if got.Recent5Min != 30 || got.EventsPerSecond != 0 {
		t.Fatalf("recent %d eps %v", got.Recent5Min, got.EventsPerSecond)
	}
	// The seed decays over five minutes: half way, half of it is left.
	clk.add(150 * time.Second)
	if r := s.Snapshot().Recent5Min; r != 15 {
		t.Fatalf("recent after 150s = %d, want 15", r)
	}
	clk.add(151 * time.Second)
	if r := s.Snapshot().Recent5Min; r != 0 {
		t.Fatalf("recent after 301s = %d, want 0", r)
	}
}

func TestStatsApplyCountsOnce(t *testing.T) {
	clk := newClock()
	s := NewStats(store.Totals{}, clk.now)

	// The message enters, is processed, then completes with its event.
	s.Apply(event.Change{Messages: []event.Message{msg("e1", event.StatusQueued, 0)}})
	if q := s.Queue(); q.Queued != 1 || q.Total != 1 {
		t.Fatalf("queued: %+v", q)
	}
	s.Apply(event.Change{Messages: []event.Message{msg("e1", event.StatusProcessing, 0)}})
	if q := s.Queue(); q.Queued != 0 || q.Processing != 1 || q.Total != 1 {
		t.Fatalf("processing: %+v", q)
	}
	if f := s.InFlight(); len(f) != 1 || f[0].Status != event.StatusProcessing {
		t.Fatalf("in flight: %+v", f)
	}
	done := event.Change{
		Events:   []event.Stored{stored("e1", "button_click", "btn_1")},
		Messages: []event.Message{msg("e1", event.StatusCompleted, 40)},
	}
	s.Apply(done)
	// The same change delivered again (a duplicate) counts nothing.
	s.Apply(done)
	got := s.Snapshot()
	if got.TotalEvents != 1 || got.EventTypes["button_click"] != 1 {
		t.Fatalf("events: %+v", got)
	}
	if got.Queue != (QueueStats{Total: 1, Completed: 1, AvgProcessingTimeMS: 40}) {
		t.Fatalf("queue: %+v", got.Queue)
	}
	if len(got.TopElements) != 1 || got.TopElements[0] != (ElementCount{"btn_1", 1}) {
		t.Fatalf("top: %+v", got.TopElements)
	}
	if f := s.InFlight(); len(f) != 0 {
		t.Fatalf("in flight after completion: %+v", f)
	}
	// A late in-flight state of the finished message does not revive it.
	s.Apply(event.Change{Messages: []event.Message{msg("e1", event.StatusProcessing, 0)}})
	if f := s.InFlight(); len(f) != 0 {
		t.Fatalf("in flight after late state: %+v", f)
	}

	// A redelivered record: in flight again, then settled without a new
	// row. Nothing is counted.
	s.Apply(event.Change{Messages: []event.Message{msg("e2", event.StatusProcessing, 0)}})
	s.Apply(event.Change{Settled: []string{"e2"}})
	got = s.Snapshot()
	if got.TotalEvents != 1 || got.Queue.Total != 1 || got.Queue.Processing != 0 {
		t.Fatalf("after settle: %+v", got)
	}

	// A dead-lettered message counts as a row but stores no event and no
	// processing time.
	s.Apply(event.Change{Messages: []event.Message{msg("e3", event.StatusRetrying, 0)}})
	if q := s.Queue(); q.Retrying != 1 {
		t.Fatalf("retrying: %+v", q)
	}
	s.Apply(event.Change{Messages: []event.Message{msg("e3", event.StatusDeadLettered, 999)}})
	q := s.Queue()
	if q != (QueueStats{Total: 2, Completed: 1, DeadLettered: 1, AvgProcessingTimeMS: 40}) {
		t.Fatalf("dead lettered: %+v", q)
	}
}

func TestStatsInFlightExpires(t *testing.T) {
	clk := newClock()
	s := NewStats(store.Totals{}, clk.now)
	s.Apply(event.Change{Messages: []event.Message{msg("lost", event.StatusProcessing, 0)}})
	clk.add(5 * time.Minute)
	s.Apply(event.Change{Messages: []event.Message{msg("alive", event.StatusQueued, 0)}})
	if n := len(s.InFlight()); n != 2 {
		t.Fatalf("in flight = %d, want 2", n)
	}
	clk.add(6 * time.Minute)
	f := s.InFlight()
	if len(f) != 1 || f[0].EventID != "alive" {
		t.Fatalf("in flight after expiry: %+v", f)
	}
	if q := s.Queue(); q.Processing != 0 || q.Queued != 1 || q.Total != 1 {
		t.Fatalf("queue after expiry: %+v", q)
	}
}

func TestStatsWindows(t *testing.T) {
	clk := newClock()
	s := NewStats(store.Totals{}, clk.now)
	n := 0
	// 20 events in each of 10 seconds.
	for sec := 0; sec < 10; sec++ {
		var c event.Change
		for i := 0; i < 20; i++ {
			n++
			c.Events = append(c.Events, stored(fmt.Sprintf("e%d", n), "page_view", ""))
		}
		s.Apply(c)
		clk.add(time.Second)
	}
	got := s.Snapshot()
	if got.EventsPerSecond != 20 || got.Recent5Min != 200 {
		t.Fatalf("eps %v recent %d, want 20 and 200", got.EventsPerSecond, got.Recent5Min)
	}
	clk.add(5 * time.Second)
	if got := s.Snapshot(); got.EventsPerSecond != 10 || got.Recent5Min != 200 {
		t.Fatalf("after 5s: eps %v recent %d", got.EventsPerSecond, got.Recent5Min)
	}
	clk.add(4 * time.Minute)
	if got := s.Snapshot(); got.EventsPerSecond != 0 || got.Recent5Min != 200 {
		t.Fatalf("after 4m: eps %v recent %d", got.EventsPerSecond, got.Recent5Min)
	}
	clk.add(time.Minute)
	if got := s.Snapshot(); got.Recent5Min != 0 || got.TotalEvents != 200 {
		t.Fatalf("after 5m: recent %d total %d", got.Recent5Min, got.TotalEvents)
	}
}

func TestStatsResetKeepsInFlightAndLiveRecent(t *testing.T) {
	clk := newClock()
	s := NewStats(store.Totals{}, clk.now)
	s.Apply(event.Change{
		Events:   []event.Stored{stored("a", "page_view", ""), stored("b", "page_view", "")},
		Messages: []event.Message{msg("c", event.StatusProcessing, 0)},
	})
	v := s.Version()
	// The store saw the two events plus three from before the start.
	s.Reset(store.Totals{Events: 5, EventTypes: map[string]int64{"page_view": 5}, Recent: 5})
	if s.Version() == v {
		t.Fatal("Reset did not change the version")
	}
	got := s.Snapshot()
	if got.TotalEvents != 5 || got.Recent5Min != 5 || got.Queue.Processing != 1 || got.Queue.Total != 1 {
		t.Fatalf("after reset: %+v", got)
	}
}

func TestTopElementsOrder(t *testing.T) {
	clicks := map[string]int64{}
	for i := 0; i < 30; i++ {
		clicks[fmt.Sprintf("el%02d", i)] = int64(i % 15)
	}
	top := topElements(clicks, 10)
	if len(top) != 10 {
		t.Fatalf("len %d", len(top))
	}
	want := []ElementCount{{"el14", 14}, {"el29", 14}, {"el13", 13}, {"el28", 13}, {"el12", 12}}
	for i, w := range want {
		if top[i] != w {
			t.Fatalf("top[%d] = %+v, want %+v (all %+v)", i, top[i], w, top)
		}
	}
}

func TestStatsConcurrent(t *testing.T) {
	s := NewStats(store.Totals{}, nil)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				s.Apply(event.Change{Events: []event.Stored{stored(id, "button_click", "b")}, Messages: []event.Message{msg(id, event.StatusCompleted, 1)}})
				_ = s.Snapshot()
			}
		}()
	}
	wg.Wait()
	if got := s.Snapshot(); got.TotalEvents != 800 || got.Queue.Completed != 800 {
		t.Fatalf("concurrent: %+v", got)
	}
}

// TestStatsReplay follows a message through the dead-letter queue and its
// replay, applying what the pipeline publishes after each store write, and
// checks that the live counts move one dead letter to completed, as the
// store does, before and after a restart.
func TestStatsReplay(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer db.Close()
	clk := newClock()
	s := NewStats(store.Totals{}, clk.now)

	// write stores r as the pipeline does and applies the change it would
	// publish: the message and event when new, the id as settled when not.
	write := func(r store.Record) {
		t.Helper()
		inserted, err := db.Write(t.Context(), []store.Record{r})
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		var c event.Change
		if !inserted[0].New {
			c.Settled = []string{r.Message.EventID}
		} else {
			c.Messages = []event.Message{r.Message}
			if r.Event != nil {
				c.Events = []event.Stored{{Event: *r.Event, Source: r.Message.Source}}
			}
		}
		s.Apply(c)
		// A bus may deliver a change twice; counting must not.
		s.Apply(c)
	}
	record := func(id string, st event.Status, offset int64, replayOf string) store.Record {
		m := msg(id, st, 2)
		m.Topic, m.Partition, m.Offset, m.ReplayOf = "user_events", 0, offset, replayOf
		r := store.Record{Message: m}
		if st == event.StatusCompleted {
			r.Event = &event.Event{EventID: id, UserID: "u1", EventType: "button_click", ElementID: "b"}
		}
		return r
	}
	check := func(when string, completed, dead, events int64) {
		t.Helper()
		got := s.Snapshot()
		q := got.Queue
		if q.Completed != completed || q.DeadLettered != dead || q.Total != completed+dead || got.TotalEvents != events {
			t.Errorf("%s: live completed %d, dead-lettered %d, total %d, events %d; want %d, %d, %d, %d",
				when, q.Completed, q.DeadLettered, q.Total, got.TotalEvents, completed, dead, completed+dead, events)
		}
		tot, err := db.Totals(t.Context(), clk.now().Add(-time.Hour))
		if err != nil {
			t.Fatalf("Totals: %v", err)
		}
		r := NewStats(tot, clk.now).Snapshot()
		if r.Queue != q || r.TotalEvents != got.TotalEvents {
			t.Errorf("%s: after a restart queue %+v, events %d; live %+v, %d", when, r.Queue, r.TotalEvents, q, got.TotalEvents)
		}
	}

	write(record("ok", event.StatusCompleted, 1, ""))
	write(record("x", event.StatusDeadLettered, 2, ""))
	write(record("y", event.StatusDeadLettered, 3, ""))
	check("before the replay", 1, 2, 1)

	// The replay is in flight: it shows, although its event id has
	// finished once already.
	inflight := record("x", event.StatusRetrying, 10, "user_events_dlq/0/0").Message
	s.Apply(event.Change{Messages: []event.Message{inflight}})
	if q := s.Queue(); q.Retrying != 1 || q.Total != 4 {
		t.Errorf("replay in flight: queue %+v, want one retrying of 4", q)
	}
	write(record("x", event.StatusCompleted, 10, "user_events_dlq/0/0"))
	check("after the replay", 2, 1, 2)
	if q := s.Queue(); q.Retrying != 0 {
		t.Errorf("replay still in flight after it completed: %+v", q)
	}

	// Replayed again: the event is stored already, nothing changes.
	write(record("x", event.StatusCompleted, 11, "user_events_dlq/0/0"))
	// A replay that fails again leaves the dead letter as it is.
	write(record("y", event.StatusDeadLettered, 12, "user_events_dlq/0/1"))
	check("after replays that changed nothing", 2, 1, 2)

	// A replay made by hand, its payload without an event_id and no
	// replay_event_id header, gets an id of its own record: a new event,
	// and the dead letter stays. (The id is a record-derived v8 UUID, which
	// the old check, against the coordinate formula, took for the
	// original's: the live dead-letter count fell by one.)
	derived := record(event.RecordID(event.RecordRef{Topic: "user_events", Partition: 0, Offset: 13, Value: []byte(`{}`)}),
		event.StatusCompleted, 13, "user_events_dlq/0/1")
	derived.Message.IDDerived = true
	write(derived)
	check("after a replay with a derived id", 3, 1, 3)
}

func TestSeenSetForgetsTheOldest(t *testing.T) {
	s := newSeenSet(3)
	for _, id := range []string{"a", "b", "c"} {
		if !s.add(id) {
			t.Fatalf("add(%q) said seen on first sight", id)
		}
	}
	if s.add("b") || !s.has("a") {
		t.Fatal("a held id was not remembered")
	}
	if !s.add("d") {
		t.Fatal("add(d) said seen")
	}
	if s.has("a") {
		t.Fatal("the oldest id was kept past the capacity")
	}
	for _, id := range []string{"b", "c", "d"} {
		if !s.has(id) {
			t.Fatalf("%q forgotten within the capacity", id)
		}
	}
	if len(s.ids) != 3 {
		t.Fatalf("%d hashes held, want 3", len(s.ids))
	}
}
