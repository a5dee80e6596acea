package load

import (
	"context"
	"testing"
	"time"

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
