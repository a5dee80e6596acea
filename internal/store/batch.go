package store

import (
	"encoding/json"
	"fmt"

	"github.com/pulse-dev/pulse/internal/event"
)

// CheckBatch reports the first record a backend must not store: one
// without an event id, whose event and message disagree on the id, whose
// status is not a finished one, or whose properties are not JSON. Backends call it before they start a transaction.
func CheckBatch(batch []Record) error {
	for i := range batch {
		r := &batch[i]
		switch {
		case r.Message.EventID == "":
			return fmt.Errorf("write batch: record %d: message has no event_id", i)
		case r.Event != nil && r.Event.EventID != r.Message.EventID:
			return fmt.Errorf("write batch: record %d: event_id %q differs from its message's %q",
				i, r.Event.EventID, r.Message.EventID)
		case r.Event != nil && len(r.Event.Properties) > 0 && !json.Valid(r.Event.Properties):
			return fmt.Errorf("write batch: record %d: properties are not valid JSON", i)
		case r.Message.Status != event.StatusCompleted && r.Message.Status != event.StatusDeadLettered:
			// The processing log keeps finished messages; the running
			// totals count on it (a row replaced is a dead letter).
			return fmt.Errorf("write batch: record %d: status %q is not a finished one (completed, dead_lettered)", i, r.Message.Status)
		}
	}
	return nil
}

// ClampLimit turns a requested page size into one within 1..MaxLimit,
// DefaultLimit when none was given.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}
