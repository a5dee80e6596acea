package load

import (
	"context"
	"time"
)

// pacer spreads sends evenly at a rate: the n-th send is due n/rate
// seconds after the start, and sends go out in bursts of at most 50 ms
// worth, so that a high rate does not need a timer per record.
type pacer struct {
	rate  float64
	start time.Time
	sent  int64
	burst int64
}

func newPacer(rate float64) *pacer {
	return &pacer{rate: rate, start: time.Now(), burst: max(1, int64(rate/20))}
}

// take waits until a send is due and returns how many sends, at most
// want, may go now. A sender that fell more than a second behind (a
// blocked producer) does not catch up in a rush: the backlog is dropped.
func (p *pacer) take(ctx context.Context, want int64) (int64, error) {
	for {
		now := time.Now()
		due := int64(p.rate*now.Sub(p.start).Seconds()) + 1 - p.sent
		if due > int64(p.rate)+p.burst {
			p.start = now.Add(-time.Duration(float64(p.sent) / p.rate * float64(time.Second)))
			due = 1
		}
		if due > 0 {
			n := min(due, want, p.burst)
			p.sent += n
			return n, nil
		}
		next := p.start.Add(time.Duration(float64(p.sent) / p.rate * float64(time.Second)))
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}
