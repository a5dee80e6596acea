package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// TestKafkaTimestampBounded: an event without a timestamp takes its Kafka
// record's, under the bounds every door applies. Before, a record dated
// 1969 was stored dated 1969, and one dated in the year 10000 (which
// franz-go wraps to 1816) was stored dated 1816.
func TestKafkaTimestampBounded(t *testing.T) {
	e := newEnv(t)
	noTime := func(id string) ev {
		v := userEvent(id, "u-"+id, event.TypePageView)
		delete(v, "timestamp")
		return v
	}
	dated := func(v ev, ts time.Time) *kgo.Record {
		r := eventRecord(t, 0, v)
		r.Timestamp = ts
		return r
	}
	ok := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	e.produce(
		dated(noTime("y1969"), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)),
		dated(noTime("y10000"), time.Date(10000, 1, 2, 0, 0, 0, 0, time.UTC)),
		dated(noTime("fine"), ok),
	)
	e.start(e.config("c1"), nil)

	dlq := e.readDLQ(2)
	for _, r := range dlq {
		reason, _ := header(r, record.HeaderDLQError)
		if !strings.Contains(reason, "timestamp: absent from the event") || !strings.Contains(reason, "outside the accepted range") {
			t.Errorf("dead letter of offset %d: reason %q, want the record's timestamp out of range", r.Offset, reason)
		}
	}
	eventually(t, 5*time.Second, "the in-range record stored", func() bool { _, found := e.message("fine"); return found })
	stored := e.db
	got, err := stored.LatestEvents(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].EventID != "fine" || !got[0].Timestamp.Equal(ok) {
		t.Fatalf("stored %+v, want only the event dated %s", got, ok)
	}
	for _, id := range []string{"y1969", "y10000"} {
		if m, found := e.message(id); !found || m.Status != event.StatusDeadLettered {
			t.Errorf("processing log of %s: %+v (found %v), want dead_lettered", id, m, found)
		}
	}
}
