package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// An erased user's records, redelivered or new, are dead-lettered with
// the reason and stored nowhere (no event, no processing-log row), while
// the records around them flow; the partition commits to its end.
func TestErasedUsersRecordsAreDeadLettered(t *testing.T) {
	e := newEnv(t)
	if _, err := e.db.EraseUser(t.Context(), "gone", "test"); err != nil {
		t.Fatal(err)
	}
	failing := userEvent("gone-2", "gone", event.TypeButtonClick)
	failing["should_fail"] = true
	e.produce(
		eventRecord(t, 1, userEvent("kept-1", "ann", event.TypePageView)),
		eventRecord(t, 1, userEvent("gone-1", "gone", event.TypePageView)),
		eventRecord(t, 1, failing), // dead-lettered for its own failure: no row either
		eventRecord(t, 1, userEvent("kept-2", "ann", event.TypeButtonClick)),
	)
	e.start(e.config("c1"), nil)
	dlq := e.readDLQ(2)
	reasons := map[string]bool{}
	for _, r := range dlq {
		reason, _ := header(r, record.HeaderDLQError)
		reasons[reason] = true
	}
	if !reasons[suppressedReason] {
		t.Errorf("dead letters' reasons %v, want %q", reasons, suppressedReason)
	}
	end := e.endOffsets()
	eventually(t, 10*time.Second, "partition 1 committed to its end", func() bool { return e.committed()[1] == end[1] })
	if got := e.eventCount(); got != 2 {
		t.Errorf("stored %d events, want ann's 2", got)
	}
	for _, id := range []string{"gone-1", "gone-2"} {
		if msg, ok := e.message(id); ok {
			t.Errorf("processing log holds the erased user's %s: %+v", id, msg)
		}
	}
	if got := metricValue(t, e.metrics.suppressed.WithLabelValues("c1")); got != 1 {
		t.Errorf("erased user records metric = %v, want 1", got)
	}
	for reason := range reasons {
		if strings.Contains(reason, "gone") {
			t.Errorf("dlq_error %q names the user", reason)
		}
	}
}
