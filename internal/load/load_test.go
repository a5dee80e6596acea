package load

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/generator"
)

func TestMixPicker(t *testing.T) {
	g := generator.New(generator.Config{Seed: 1})
	m := newMixPicker(map[string]float64{"user_login": 1, "checkout_done": 3, "page_view": 0})
	counts := map[string]int{}
	for range 4000 {
		e := m.next(g)
		if err := e.Validate(); err != nil {
			t.Fatalf("invalid event %+v: %v", e, err)
		}
		counts[e.EventType]++
	}
	if counts["page_view"] != 0 || counts["user_login"] < 800 || counts["user_login"] > 1200 || counts["checkout_done"] < 2800 {
		t.Fatalf("mix %v", counts)
	}
	// No mix: the generator's own.
	if e := newMixPicker(nil).next(g); e.EventType == "" {
		t.Fatal("no event")
	}
}

// TestPacerStopsOnCancel: the pace itself is checked on the pacer's own
// clock (pace_test.go); the wall clock here would make it a timed test.
func TestPacerStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := NewPacer(1, 50*time.Millisecond)
	if _, err := slow.Take(ctx, 1); err != nil {
		t.Fatalf("first send must be due at once: %v", err)
	}
	if _, err := slow.Take(ctx, 1); err == nil {
		t.Fatal("cancelled wait returned no error")
	}
}

func TestRateOver(t *testing.T) {
	t0 := time.Now()
	samples := []countAt{{t0, 0}, {t0.Add(500 * time.Millisecond), 50}, {t0.Add(time.Second), 100}}
	if r := rateOver(samples, t0.Add(2*time.Second), 300); r != 200 {
		t.Fatalf("rate %v", r)
	}
	if r := rateOver(nil, t0, 5); r != 0 {
		t.Fatalf("no samples: %v", r)
	}
}

func TestStoppedRunCountsNoCancelledSend(t *testing.T) {
	r := &loadRun{status: Running}
	r.ack(nil)
	r.ack(errors.New("produce to t: broker gone"))
	stoppedAt := time.Now().UTC()
	r.stop(stoppedAt)
	r.ack(fmt.Errorf("produce to t: %w", context.Canceled))
	r.ack(fmt.Errorf("produce to t: %w", kgo.ErrClientClosed))
	got := r.snapshot(time.Now())
	if got.Status != Stopped || got.Acked != 1 || got.Failed != 1 || r.cancelled.Load() != 2 || !got.EndedAt.Equal(stoppedAt) {
		t.Fatalf("%+v, cancelled %d", got, r.cancelled.Load())
	}
	// A second stop does not move the end.
	r.stop(stoppedAt.Add(time.Second))
	if got := r.snapshot(time.Now()); !got.EndedAt.Equal(stoppedAt) {
		t.Fatalf("ended_at moved to %v", got.EndedAt)
	}
}

func TestRunnerKeepsTheLastRuns(t *testing.T) {
	l := &Runner{}
	for i := range KeptRuns + 5 {
		r := &loadRun{info: Run{ID: fmt.Sprint(i)}, status: Completed}
		l.remember(r)
	}
	runs := l.Runs()
	if len(runs) != KeptRuns || runs[0].ID != fmt.Sprint(KeptRuns+4) || runs[KeptRuns-1].ID != "5" {
		t.Fatalf("%d runs, newest %s, oldest %s", len(runs), runs[0].ID, runs[len(runs)-1].ID)
	}
}
