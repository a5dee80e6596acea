package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

// GET /api/series/ answers what the store kept, per step, up to the last
// complete step; a range it does not know is a 400 naming the choices.
func TestSeriesAnswersWhatTheStoreKept(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	var batch []store.Record
	for i, typ := range []string{"click", "click", "view"} {
		id := []string{"a", "b", "c"}[i]
		e := &event.Event{EventID: id, UserID: "u", EventType: typ, Timestamp: time.Now().Add(-40 * time.Millisecond)}
		batch = append(batch, store.Record{Event: e, Message: event.Message{
			EventID: id, EventType: typ, UserID: "u", Status: event.StatusCompleted, Topic: topic, Offset: int64(i),
		}})
	}
	if _, err := env.db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	// The step still filling is in the answer: what was just stored is there.
	r := env.get("/api/series/?range=15m")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var v series.View
	r.json(t, &v)
	if sum(v.Events["click"]) != 2 || sum(v.Events["view"]) != 1 {
		t.Fatalf("events = %v, want 2 clicks and 1 view", v.Events)
	}
	last := v.Times[len(v.Times)-1]
	if v.Range != "15m" || v.StepSeconds != 10 || len(v.Times) != 90 || last >= v.To.Unix() || last+10 < v.To.Unix() {
		t.Errorf("range %s, step %d, %d times, last %d, to %v", v.Range, v.StepSeconds, len(v.Times), v.Times[len(v.Times)-1], v.To)
	}
	var samples int64
	for i, n := range v.Latency.Samples {
		samples += n
		if n > 0 && (v.Latency.P50[i] == nil || *v.Latency.P50[i] < 30 || *v.Latency.P50[i] > 2000) {
			t.Errorf("p50 of step %d = %v; the events were stored about 40 ms after their time", i, v.Latency.P50[i])
		}
	}
	if samples != 3 {
		t.Errorf("latency samples = %d, want 3", samples)
	}

	r = env.get("/api/series/?range=2h")
	if r.status != http.StatusBadRequest || !strings.Contains(r.errorText(t), "15m") {
		t.Errorf("range=2h: %d %s", r.status, r.body)
	}
}

func sum(xs []int64) (n int64) {
	for _, x := range xs {
		n += x
	}
	return n
}
