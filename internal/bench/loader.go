package bench

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/load"
)

// loader sends records to the events topic through Pulse's own producer
// (acks=all, idempotent, snappy, 5 ms linger), as `pulse produce` does.
type loader struct {
	p *kafka.Producer
}

func newLoader(brokerAddr string, log *slog.Logger) (*loader, error) {
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = brokerAddr
	p, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: cfg.Kafka, Name: "bench"}, log, nil)
	if err != nil {
		return nil, err
	}
	return &loader{p: p}, nil
}

// send hands a record over; once handed over it is never cancelled, so
// that stopping a paced run does not fail what is buffered.
func (l *loader) send(ctx context.Context, r *kgo.Record) {
	l.p.ProduceRecordAsync(context.WithoutCancel(ctx), r, func(kafka.Ack, error) {})
}

func (l *loader) acked() int64 { return l.p.Stats().Acked }

func (l *loader) close() { l.p.Close() }

// paced sends make(i) at rate records/s for d, in bursts of at most 5 ms
// worth (the load runner's pacer), and returns how many it sent. It stops
// early when ctx ends.
func (l *loader) paced(ctx context.Context, rate float64, d time.Duration, make func(i int64, now time.Time) (*kgo.Record, error)) (int64, error) {
	p := load.NewPacer(rate, 5*time.Millisecond)
	total := int64(rate * d.Seconds())
	var sent int64
	for sent < total {
		n, err := p.Take(ctx, int(min(int64(p.Burst()), total-sent)))
		if err != nil {
			return sent, err
		}
		now := time.Now()
		for range n {
			r, err := make(sent, now)
			if err != nil {
				return sent, err
			}
			l.send(ctx, r)
			sent++
		}
	}
	return sent, nil
}

// waitAcked polls until n records are acknowledged or the deadline passes.
func (l *loader) waitAcked(ctx context.Context, n int64, within time.Duration) error {
	return poll(ctx, within, func() (bool, error) { return l.acked() >= n, nil },
		func() string { return fmt.Sprintf("%d of %d records acknowledged", l.acked(), n) })
}

// poll checks cond every 20 ms until it holds, fails, or within passes.
func poll(ctx context.Context, within time.Duration, cond func() (bool, error), state func() string) error {
	deadline := time.Now().Add(within)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %s", within, state())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
