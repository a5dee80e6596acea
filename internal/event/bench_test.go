package event

import (
	"testing"
	"time"
)

// benchEvent is a typical producer event: the generator's shape, with
// small nested properties.
var benchEvent = []byte(`{"event_id":"5b0c3c1e-8d7a-4f7e-9a0b-1c2d3e4f5a6b","user_id":"user_042",` +
	`"event_type":"button_click","element_id":"signup-button","timestamp":"2026-11-25T18:00:00.123456Z",` +
	`"session_id":"sess-9f8e7d6c","page":"/pricing","message":"clicked signup",` +
	`"properties":{"browser":"firefox","screen":{"w":1920,"h":1080},"ab":"variant-b","referrer":"https://example.com/blog"}}`)

// BenchmarkDecode measures decoding and validating one event, what the
// pipeline does for every record and the API for every request.
func BenchmarkDecode(b *testing.B) {
	b.SetBytes(int64(len(benchEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate measures the validation alone.
func BenchmarkValidate(b *testing.B) {
	e, err := Decode(benchEvent)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKey measures the partitioning key of a record.
func BenchmarkKey(b *testing.B) {
	e := Event{UserID: "user_042", EventType: TypeButtonClick, Timestamp: time.Now()}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n += len(e.Key())
	}
	if n == 0 {
		b.Fatal("empty keys")
	}
}

// BenchmarkRecordID measures the event_id given to a record without one.
func BenchmarkRecordID(b *testing.B) {
	b.ReportAllocs()
	r := RecordRef{Topic: "user_events", Partition: 2, Timestamp: time.Now(), Key: []byte("user_1:page_view"),
		Value:   []byte(`{"user_id":"user_1","event_type":"page_view","element_id":"home","timestamp":"2026-01-02T03:04:05Z"}`),
		Headers: []Header{{Key: "source", Value: []byte("producer")}}}
	for b.Loop() {
		r.Offset++
		if RecordID(r) == "" {
			b.Fatal("empty id")
		}
	}
}
