package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Bounds of the Kafka health check.
const (
	kafkaProbeTimeout = 3 * time.Second
	// kafkaProbeTTL is how long a result answers health checks: a load
	// balancer polling /api/health/ many times a second costs the broker
	// one connection every kafkaProbeTTL.
	kafkaProbeTTL = 2 * time.Second
)

// kafkaProbe is /api/health/'s Kafka check: a metadata round trip over a
// new connection. The long-lived clients' connections say nothing about
// whether Kafka takes new ones: with the embedded broker deaf after a
// burst of failed accepts, the admin client's old connection still
// answered and health said healthy while ingest failed.
type kafkaProbe struct {
	opts []kgo.Opt
	ttl  time.Duration
	now  func() time.Time

	// mu is held during a probe, so concurrent checks share its result.
	mu  sync.Mutex
	at  time.Time
	err error
}

func newKafkaProbe(opts []kgo.Opt) *kafkaProbe {
	return &kafkaProbe{opts: opts, ttl: kafkaProbeTTL, now: time.Now}
}

// Check returns the latest probe's result, probing again when it is
// older than the TTL.
func (p *kafkaProbe) Check(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && p.now().Sub(p.at) < p.ttl {
		return p.err
	}
	// One caller's cancelled request must not become everyone's answer.
	p.err = p.probe(context.WithoutCancel(ctx))
	p.at = p.now()
	return p.err
}

func (p *kafkaProbe) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, kafkaProbeTimeout)
	defer cancel()
	opts := append(append([]kgo.Opt(nil), p.opts...), kgo.DialTimeout(kafkaProbeTimeout))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("no new connection to Kafka answers: %w", err)
	}
	return nil
}
