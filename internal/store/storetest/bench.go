package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// BenchBatch is the batch size BenchmarkWrite writes, the pipeline's.
const BenchBatch = 500

// BenchmarkWrite measures Write with batches of BenchBatch new records, each
// an event with small properties and its completed message, the shape the
// pipeline writes under load. It reports records (event+message pairs) per
// second.
func BenchmarkWrite(b *testing.B, s store.Store) {
	types := []string{event.TypePageView, event.TypeButtonClick, event.TypeFormSubmit, event.TypeUserLogin, event.TypeAPICall}
	props := json.RawMessage(`{"browser":"firefox","screen":{"w":1920,"h":1080},"ab":"variant-b"}`)
	now := time.Now().UTC()
	batch := make([]store.Record, BenchBatch)
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		for i := range batch {
			id := event.NewID()
			typ := types[i%len(types)]
			started := now.Add(time.Duration(i) * time.Millisecond)
			done := started.Add(3 * time.Millisecond)
			batch[i] = store.Record{
				Event: &event.Event{
					EventID: id, UserID: fmt.Sprintf("user_%d", i%97), EventType: typ,
					ElementID: fmt.Sprintf("button-%d", i%5), Timestamp: now,
					SessionID: "session-0123456789", Page: "/dashboard", Properties: props,
				},
				Message: event.Message{
					EventID: id, EventType: typ, UserID: fmt.Sprintf("user_%d", i%97),
					ElementID: fmt.Sprintf("button-%d", i%5), Status: event.StatusCompleted,
					Source: event.SourceProducer, ConsumerID: "consumer-1", Topic: "user_events",
					Partition: int32(i % 6), Offset: int64(n*BenchBatch + i), QueuedAt: now,
					StartedAt: &started, CompletedAt: &done, DurationMS: 3,
				},
			}
		}
		b.StartTimer()
		inserted, err := s.Write(b.Context(), batch)
		if err != nil {
			b.Fatalf("Write: %v", err)
		}
		if len(inserted) != BenchBatch || !inserted[0].New {
			b.Fatalf("Write inserted = %v", inserted[:1])
		}
	}
	b.ReportMetric(float64(b.N*BenchBatch)/b.Elapsed().Seconds(), "records/s")
}
