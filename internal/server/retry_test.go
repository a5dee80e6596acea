package server

import (
	"fmt"
	"testing"
	"time"
)

// TestClientRetryWithoutTimestampIsOneEvent: a client that sends its own
// event_id and no timestamp, and retries (its first answer was lost), is
// sending the same event again, though the server gives each copy the time
// it was produced (an HTTP round trip apart, so microseconds differ). It
// is stored once and never dead-lettered as a reuse of the id; the same
// id with other content still is.
func TestClientRetryWithoutTimestampIsOneEvent(t *testing.T) {
	r := start(t, t.TempDir())
	const body = `{"event_id":"retry-1","user_id":"u1","event_type":"button_click","element_id":"buy"}`
	postEvent(t, r, body)
	postEvent(t, r, body)
	postEvent(t, r, `{"event_id":"other","user_id":"u2","event_type":"page_view"}`)
	waitSettled(t, r, 2)
	if n := conflicts(t, r); n != 0 {
		t.Fatalf("%v event_id conflicts: the retry was taken for a reuse of its event_id", n)
	}
	// Another event under the same id is still a reuse.
	postEvent(t, r, `{"event_id":"retry-1","user_id":"u1","event_type":"button_click","element_id":"cancel"}`)
	eventually(t, 30*time.Second, "the reuse found", func() (bool, string) {
		n := conflicts(t, r)
		return n == 1, fmt.Sprintf("%v conflicts", n)
	})
	if got := storedCount(t, r); got != 2 {
		t.Fatalf("stored %d events, want 2", got)
	}
}

// conflicts reads pulse_pipeline_event_id_conflicts_total, summed over
// the members.
func conflicts(t *testing.T, r *running) float64 {
	t.Helper()
	mfs, err := r.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "pulse_pipeline_event_id_conflicts_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
