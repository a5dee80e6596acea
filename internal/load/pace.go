package load

import (
	"context"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Pacer spreads sends evenly at a rate, in bursts, so that a high rate
// does not need a timer per send. It is a token bucket (rate.Limiter)
// refilled at the rate: Take hands out at most one burst of tokens at a
// time, and a sender that fell behind (a blocked producer) catches up at
// most one second's worth, as fast as it can take them; the rest of the
// backlog is dropped rather than sent in a rush.
type Pacer struct {
	lim   *rate.Limiter
	burst int

	// now and sleep are the clock, time's outside tests.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// NewPacer returns a pacer of perSecond sends a second (above 0) in
// bursts of at most every's worth of sends (at least one). The first
// burst is due at once.
func NewPacer(perSecond float64, every time.Duration) *Pacer {
	return newPacer(perSecond, every, time.Now, sleepCtx)
}

func newPacer(perSecond float64, every time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error) *Pacer {
	burst := max(1, int(perSecond*every.Seconds()))
	bucket := max(burst, int(math.Ceil(perSecond)))
	p := &Pacer{lim: rate.NewLimiter(rate.Limit(perSecond), bucket), burst: burst, now: now, sleep: sleep}
	// The bucket starts full; only one burst is due at the start.
	p.lim.AllowN(p.now(), bucket-burst)
	return p
}

// Take waits until a send is due and returns how many sends, at most
// want (above 0), may go now; it returns ctx's error when ctx ends first.
func (p *Pacer) Take(ctx context.Context, want int) (int, error) {
	for {
		now := p.now()
		if n := min(want, p.burst, int(p.lim.TokensAt(now))); n > 0 {
			p.lim.AllowN(now, n)
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		// The next token is due when the bucket has refilled to one;
		// rounding up keeps a wait from ending a hair too soon.
		missing := 1 - p.lim.TokensAt(now)
		d := time.Duration(math.Ceil(missing / float64(p.lim.Limit()) * float64(time.Second)))
		if err := p.sleep(ctx, max(d, time.Microsecond)); err != nil {
			return 0, err
		}
	}
}

// Burst is the most sends one Take returns.
func (p *Pacer) Burst() int { return p.burst }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
