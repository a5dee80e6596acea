package store_test

import (
	"encoding/json"
	"testing"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

func TestClampLimit(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-1, store.DefaultLimit}, {0, store.DefaultLimit}, {1, 1}, {store.MaxLimit, store.MaxLimit},
		{store.MaxLimit + 1, store.MaxLimit},
	} {
		if got := store.ClampLimit(tc.in); got != tc.want {
			t.Errorf("ClampLimit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCheckBatch(t *testing.T) {
	ok := func() store.Record {
		return store.Record{
			Event:   &event.Event{EventID: "a", Properties: json.RawMessage(`{"k":1}`)},
			Message: event.Message{EventID: "a", Status: event.StatusCompleted},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*store.Record)
		valid  bool
	}{
		{"valid", func(*store.Record) {}, true},
		{"dead-lettered", func(r *store.Record) { r.Event = nil; r.Message.Status = event.StatusDeadLettered }, true},
		{"no event_id", func(r *store.Record) { r.Event = nil; r.Message.EventID = "" }, false},
		{"ids differ", func(r *store.Record) { r.Event.EventID = "b" }, false},
		{"unknown status", func(r *store.Record) { r.Message.Status = "done" }, false},
		{"in flight", func(r *store.Record) { r.Message.Status = event.StatusRetrying }, false},
		{"failed", func(r *store.Record) { r.Message.Status = event.StatusFailed }, false},
		{"bad properties", func(r *store.Record) { r.Event.Properties = json.RawMessage(`{`) }, false},
	} {
		r := ok()
		tc.change(&r)
		err := store.CheckBatch([]store.Record{ok(), r})
		if (err == nil) != tc.valid {
			t.Errorf("%s: CheckBatch = %v, want valid %v", tc.name, err, tc.valid)
		}
	}
}
