package server

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/broker"
)

// TestKafkaProbeNeedsANewConnection checks that the health check opens a
// connection of its own, caches its answer for the TTL only, and reports
// a broker that stopped taking connections.
func TestKafkaProbeNeedsANewConnection(t *testing.T) {
	ctx := context.Background()
	b, err := broker.Start(ctx, broker.Config{Addr: "127.0.0.1:0"}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	now := time.Unix(1000, 0)
	p := newKafkaProbe([]kgo.Opt{kgo.SeedBrokers(b.Addr())})
	p.now = func() time.Time { return now }
	if err := p.Check(ctx); err != nil {
		t.Fatalf("broker up: %v", err)
	}
	b.Close()
	if err := p.Check(ctx); err != nil {
		t.Fatalf("within the TTL the last answer stands: %v", err)
	}
	now = now.Add(kafkaProbeTTL)
	start := time.Now()
	if err := p.Check(ctx); err == nil {
		t.Fatal("broker closed: the probe still says healthy")
	}
	if d := time.Since(start); d > kafkaProbeTimeout+2*time.Second {
		t.Errorf("the probe took %v, more than its timeout", d)
	}
}
