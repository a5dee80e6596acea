package live

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// benchStored returns n stored events shaped like the generator's.
func benchStored(n int) []event.Stored {
	now := time.Now().UTC()
	out := make([]event.Stored, n)
	for i := range out {
		out[i] = event.Stored{
			ID: int64(i + 1),
			Event: event.Event{
				EventID: "5b0c3c1e-8d7a-4f7e-9a0b-" + strconv.Itoa(100000000000+i), UserID: "user_" + strconv.Itoa(i%100),
				EventType: event.TypeButtonClick, ElementID: "signup-button", Timestamp: now,
				SessionID: "sess-9f8e7d6c", Page: "/pricing",
				Properties: json.RawMessage(`{"browser":"firefox","screen":{"w":1920,"h":1080},"ab":"variant-b"}`),
			},
			Source: event.SourceProducer, Partition: int32(i % 3), Offset: int64(i), CreatedAt: now,
		}
	}
	return out
}

// BenchmarkStatsApply measures the statistics update for a change of 100
// newly stored events and their completed messages, the shape one store
// write publishes. Ids are fresh each time so nothing is deduplicated.
func BenchmarkStatsApply(b *testing.B) {
	const n = 100
	s := NewStats(store.Totals{}, nil)
	evs := benchStored(n)
	msgs := make([]event.Message, n)
	now := time.Now()
	for i := range msgs {
		msgs[i] = event.Message{EventType: event.TypeButtonClick, UserID: evs[i].UserID, ElementID: evs[i].ElementID,
			Status: event.StatusCompleted, Source: event.SourceProducer, QueuedAt: now, StartedAt: &now, CompletedAt: &now, DurationMS: 2}
	}
	b.ReportAllocs()
	var round int
	for b.Loop() {
		round++
		prefix := strconv.Itoa(round) + "-"
		for i := range evs {
			id := prefix + strconv.Itoa(i)
			evs[i].EventID, msgs[i].EventID = id, id
		}
		s.Apply(event.Change{Events: evs, Messages: msgs})
	}
	b.ReportMetric(float64(round*n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEncodeNewEvents measures encoding one full new_events frame
// (the batched frame every client is sent, encoded once for all).
func BenchmarkEncodeNewEvents(b *testing.B) {
	f := newEventsFrame{Type: "new_events", Events: benchStored(maxBatchEvents), Dropped: 300}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		fr, err := encode("new_events", f)
		if err != nil {
			b.Fatal(err)
		}
		size = len(fr.data)
	}
	b.SetBytes(int64(size))
	b.ReportMetric(float64(size), "bytes/frame")
}

// BenchmarkEncodeNewEvent measures encoding one single-event frame.
func BenchmarkEncodeNewEvent(b *testing.B) {
	f := newEventFrame{Type: "new_event", Event: benchStored(1)[0]}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode("new_event", f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatsSnapshot measures building the stats payload of a
// stats_update frame and the HTTP stats answers.
func BenchmarkStatsSnapshot(b *testing.B) {
	s := NewStats(store.Totals{Events: 5_000_000, EventTypes: map[string]int64{"page_view": 2_000_000, "button_click": 3_000_000},
		Clicks: map[string]int64{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k": 11, "l": 12}}, nil)
	b.ReportAllocs()
	for b.Loop() {
		fr, err := encode("stats_update", statsFrame{Type: "stats_update", Stats: s.Snapshot()})
		if err != nil || len(fr.data) == 0 {
			b.Fatal(err)
		}
	}
}
