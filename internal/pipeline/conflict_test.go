package pipeline

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// An event_id reused for another event is dead-lettered with the reason
// and counted, instead of being dropped as a duplicate; a true redelivery
// (the same event again) still settles silently.
func TestReusedEventIDDeadLettered(t *testing.T) {
	e := newEnv(t)
	orig := userEvent("dup-1", "ann", event.TypePageView)
	other := userEvent("dup-1", "bob", event.TypeButtonClick)
	other["timestamp"] = orig["timestamp"]
	rs := e.produce(
		eventRecord(t, 1, orig),
		eventRecord(t, 1, orig), // a redelivery: the same content
		eventRecord(t, 1, other),
	)
	m := e.start(e.config("c1"), nil)
	dlq := e.readDLQ(1)
	reason, _ := header(dlq[0], record.HeaderDLQError)
	want := "event_id: reused with different content (stored from user_events/1/" + strconv.FormatInt(rs[0].Offset, 10) + ")"
	if reason != want {
		t.Errorf("dlq_error = %q, want %q", reason, want)
	}
	if off, _ := header(dlq[0], record.HeaderDLQOffset); off != strconv.FormatInt(rs[2].Offset, 10) {
		t.Errorf("dead letter of offset %s, want the reuse at %d", off, rs[2].Offset)
	}
	end := e.endOffsets()
	eventually(t, 10*time.Second, "partition 1 committed to its end", func() bool { return e.committed()[1] == end[1] })
	if got := e.eventCount(); got != 1 {
		t.Errorf("stored %d events, want the original only", got)
	}
	if msg, ok := e.message("dup-1"); !ok || msg.UserID != "ann" || msg.Status != event.StatusCompleted {
		t.Errorf("processing log of dup-1 = %+v, want the original's, completed", msg)
	}
	if got := metricValue(t, e.metrics.conflicts.WithLabelValues("c1")); got != 1 {
		t.Errorf("event_id conflicts metric = %v, want 1", got)
	}
	if s := m.Snapshot(); s.Duplicates < 1 {
		t.Errorf("duplicates = %d, want the redelivery settled", s.Duplicates)
	}
	if strings.Contains(reason, "ann") || strings.Contains(reason, "bob") {
		t.Errorf("dlq_error %q shows event content", reason)
	}
}

// TestCopiesWithoutTimestampAreOneEvent: an event without a timestamp
// takes its record's, and two copies of it produced a moment apart (kcat
// sending the same line twice) were dead-lettered as a reused event_id
// whenever the two records' timestamps differed.
func TestCopiesWithoutTimestampAreOneEvent(t *testing.T) {
	e := newEnv(t)
	v := userEvent("copied-1", "ann", event.TypePageView)
	delete(v, "timestamp")
	first, second := eventRecord(t, 1, v), eventRecord(t, 1, v)
	first.Timestamp = time.Now().Add(-time.Second)
	second.Timestamp = time.Now()
	e.produce(first, second)
	m := e.start(e.config("c1"), nil)
	end := e.endOffsets()
	eventually(t, 10*time.Second, "partition 1 committed to its end", func() bool {
		return len(e.messages(event.StatusCompleted)) == 1 && e.committed()[1] == end[1]
	})
	if got := len(e.messages(event.StatusDeadLettered)); got != 0 {
		t.Errorf("%d copies dead-lettered, want the second settled as a redelivery", got)
	}
	if got := metricValue(t, e.metrics.conflicts.WithLabelValues("c1")); got != 0 {
		t.Errorf("event_id conflicts metric = %v, want 0", got)
	}
	if s := m.Snapshot(); s.Duplicates != 1 {
		t.Errorf("duplicates = %d, want the second copy", s.Duplicates)
	}
}
