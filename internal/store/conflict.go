package store

import (
	"bytes"
	"fmt"

	"github.com/pulse-dev/pulse/internal/event"
)

// Outcome is what Write did with one record.
type Outcome struct {
	// New reports that the record was stored: its event row or, for a
	// record without an event, its message row is new. A record neither
	// new nor in conflict is a redelivery, settled without a change.
	New bool
	// Conflict, when not empty, says the record's event_id is stored
	// already with other content, and where that event came from
	// ("<topic>/<partition>/<offset>"). Nothing of the record was written.
	Conflict string
	// Suppressed says the record's user_id (its event's, or its
	// message's for a record without an event) is on the suppression
	// list (Erasure): nothing of the record was written, neither event
	// nor message row.
	Suppressed bool
}

// Inserted returns the New flags of outcomes.
func Inserted(outcomes []Outcome) []bool {
	out := make([]bool, len(outcomes))
	for i, o := range outcomes {
		out[i] = o.New
	}
	return out
}

// StoredEvent is an event as read back to compare with one whose
// event_id it holds.
type StoredEvent struct {
	Event     event.Event
	Topic     string
	Partition int32
	Offset    int64
}

// Origin names where the stored event came from.
func (s *StoredEvent) Origin() string {
	return fmt.Sprintf("%s/%d/%d", s.Topic, s.Partition, s.Offset)
}

// SameContent reports whether e is the event stored as s: every field of
// the event equal, the timestamp to the microsecond (the precision both
// stores keep) unless e's was filled in at ingest (timeFilled: a retry
// by a client that sent none). A redelivery is; a reuse of the event_id
// for another event is not.
func SameContent(s *StoredEvent, e *event.Event, timeFilled bool) bool {
	a := &s.Event
	return a.EventID == e.EventID && a.UserID == e.UserID && a.EventType == e.EventType &&
		a.ElementID == e.ElementID && a.SessionID == e.SessionID && a.Page == e.Page &&
		a.Message == e.Message && bytes.Equal(a.Properties, e.Properties) &&
		a.DelaySeconds == e.DelaySeconds && a.ShouldFail == e.ShouldFail &&
		a.SourceID == e.SourceID && a.AnonymousID == e.AnonymousID &&
		(timeFilled || a.Timestamp.UnixMicro() == e.Timestamp.UnixMicro())
}
