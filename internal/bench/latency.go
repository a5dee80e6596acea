package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/generator"
)

// LatencyResult is the delay of events at a steady, moderate rate.
type LatencyResult struct {
	Rate float64 `json:"rate_events_per_s"`
	// ToStored is produce (the event's timestamp, set just before the
	// producer call) to stored (the row's created_at).
	ToStored Latency `json:"produce_to_stored"`
	// ToWebSocket is produce to received and decoded by a WebSocket client.
	ToWebSocket Latency `json:"produce_to_websocket"`
	Sent        int64   `json:"sent"`
	Received    int64   `json:"received"`
	Dropped     int64   `json:"dropped"`
	Shape       string  `json:"shape"`
}

func (r *runner) latency(ctx context.Context) error {
	p := r.plan
	in, stop, err := r.serve(ctx, "latency", serverOpts{consumers: members})
	if err != nil {
		return err
	}
	defer stop()
	c, err := dialWS(ctx, in, true)
	if err != nil {
		return err
	}
	defer c.readInBackground(ctx)()
	l, err := newLoader(in.BrokerAddr(), r.log)
	if err != nil {
		return err
	}
	defer l.close()
	gen := generator.New(generator.Config{Seed: 7})
	stamped := func(_ int64, now time.Time) (*kgo.Record, error) { return stampedRecord(gen, time.Now()) }

	// A warm-up lets the group settle and the caches fill.
	warm := min(3*time.Second, p.LatencyDuration/2)
	if _, err := l.paced(ctx, p.LatencyRate, warm, stamped); err != nil {
		return err
	}
	if err := in.waitStored(ctx, l.acked(), time.Minute); err != nil {
		return err
	}
	if err := poll(ctx, 10*time.Second, func() (bool, error) { d, dr, _, _ := c.snapshot(); return d+dr >= l.acked(), nil },
		func() string {
			d, dr, _, _ := c.snapshot()
			return fmt.Sprintf("warm-up: %d delivered + %d sampled of %d on the WebSocket", d, dr, l.acked())
		}); err != nil {
		return err
	}
	c.reset()
	before := l.acked()
	sent, err := l.paced(ctx, p.LatencyRate, p.LatencyDuration, stamped)
	if err != nil {
		return err
	}
	if err := l.waitAcked(ctx, before+sent, time.Minute); err != nil {
		return err
	}
	if err := poll(ctx, 30*time.Second, func() (bool, error) { d, dr, _, _ := c.snapshot(); return d+dr >= sent, nil },
		func() string {
			d, dr, _, _ := c.snapshot()
			return fmt.Sprintf("%d+%d of %d on the WebSocket", d, dr, sent)
		}); err != nil {
		return err
	}
	d, dr, toWS, toStore := c.snapshot()
	r.rep.Latency = &LatencyResult{
		Rate: p.LatencyRate, ToStored: latency(toStore), ToWebSocket: latency(toWS),
		Sent: sent, Received: d, Dropped: dr,
		Shape: fmt.Sprintf("%.0f events/s for %s after a %s warm-up, paced in 5 ms bursts through Pulse's producer (5 ms linger), simulation off, SQLite, %d consumers, one WebSocket client reading every frame", p.LatencyRate, p.LatencyDuration, warm, members),
	}
	r.progress("latency: produce→stored p99 %.1f ms, produce→WebSocket p99 %.1f ms", r.rep.Latency.ToStored.P99, r.rep.Latency.ToWebSocket.P99)
	return nil
}
