package load

import (
	"context"
	"testing"
	"time"
)

// fakeClock moves only when the pacer sleeps, so that the pace is
// checked on the pacer's own accounting, not on the machine's speed.
type fakeClock struct {
	t      time.Time
	sleeps int
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	if d <= 0 {
		panic("the pacer slept for nothing")
	}
	c.t = c.t.Add(d)
	c.sleeps++
	return nil
}

func TestPacerSendsNAtTheRate(t *testing.T) {
	const n, perSecond = 1000, 500.0
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	start := c.t
	p := newPacer(perSecond, 50*time.Millisecond, c.now, c.sleep)
	if p.Burst() != 25 {
		t.Fatalf("burst %d, want 25 (50 ms at 500/s)", p.Burst())
	}
	sent := 0
	for sent < n {
		got, err := p.Take(context.Background(), n-sent)
		if err != nil {
			t.Fatal(err)
		}
		if got < 1 || got > p.Burst() {
			t.Fatalf("Take returned %d, want 1..%d", got, p.Burst())
		}
		sent += got
		// Never ahead of the rate by more than the first burst.
		if allowed := p.Burst() + int(perSecond*c.t.Sub(start).Seconds()+1e-9); sent > allowed {
			t.Fatalf("%d sent after %v, at most %d allowed", sent, c.t.Sub(start), allowed)
		}
	}
	if sent != n {
		t.Fatalf("sent %d, want %d", sent, n)
	}
	// The first burst goes at once, the rest at the rate.
	el := c.t.Sub(start)
	lo := time.Duration(float64(n-p.Burst()) / perSecond * float64(time.Second))
	if el < lo || el > lo+10*time.Millisecond {
		t.Fatalf("%d sends at %v/s took %v on the pacer's clock, want %v", n, perSecond, el, lo)
	}
	if c.sleeps == 0 {
		t.Fatal("the pacer never waited")
	}
}

func TestPacerCatchesUpOneSecondAtMost(t *testing.T) {
	const perSecond = 500.0
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := newPacer(perSecond, 50*time.Millisecond, c.now, c.sleep)
	if got, err := p.Take(context.Background(), 1000); err != nil || got != p.Burst() {
		t.Fatalf("first Take: %d, %v; want the first burst", got, err)
	}
	// The sender was blocked for 10 s: one second's worth is due at once,
	// in bursts, and the rest of the backlog is dropped.
	c.t = c.t.Add(10 * time.Second)
	sleeps, sent := c.sleeps, 0
	for i := 0; c.sleeps == sleeps; i++ {
		if i > 1000 {
			t.Fatal("the pacer never waited")
		}
		got, err := p.Take(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if got > p.Burst() {
			t.Fatalf("burst of %d", got)
		}
		sent += got
	}
	// The Take that slept returned one more send after its wait.
	if sent < int(perSecond) || sent > int(perSecond)+p.Burst() {
		t.Fatalf("caught up %d sends before waiting, want %d", sent, int(perSecond))
	}
}
