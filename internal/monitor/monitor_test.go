package monitor

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/kafka"
)

// messages records the messages logged through it.
type messages struct {
	mu   sync.Mutex
	msgs []string
}

func (m *messages) Enabled(context.Context, slog.Level) bool { return true }
func (m *messages) WithAttrs([]slog.Attr) slog.Handler       { return m }
func (m *messages) WithGroup(string) slog.Handler            { return m }
func (m *messages) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, r.Message)
	return nil
}

func (m *messages) count(msg string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.msgs {
		if s == msg {
			n++
		}
	}
	return n
}

// A failed sample is logged where it is handled, once: Consumers returns
// it (the API logs it with the request), the background loop logs it.
func TestFailedSampleLoggedOnce(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	kc := config.Default()
	kc.Kafka.BootstrapServers = strings.Join(cluster.ListenAddrs(), ",")
	reg := prometheus.NewRegistry()
	admin, err := kafka.NewAdmin(kc.Kafka, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	logged := &messages{}
	// The topic does not exist, so every sample fails.
	o, err := New(Config{Group: "g", Topic: "missing"},
		Deps{Admin: admin}, slog.New(logged), reg)
	if err != nil {
		t.Fatal(err)
	}
	const msg = "sample consumer group"

	if _, err := o.Consumers(t.Context()); !errors.Is(err, kafka.ErrTopicNotFound) {
		t.Fatalf("Consumers: err = %v, want ErrTopicNotFound", err)
	}
	if n := logged.count(msg); n != 0 {
		t.Errorf("Consumers returned the error and logged it %d times too", n)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = o.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); logged.count(msg) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the background sample's failure was not logged")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHistoryRing(t *testing.T) {
	o := &Group{cfg: Config{HistoryLen: 3, HistoryInterval: 5 * time.Second}, now: time.Now}
	o.view = &ConsumersView{}
	for i := range 5 {
		o.view.TotalLag = int64(i)
		o.recordPoint()
	}
	h := o.History()
	if len(h.Points) != 3 || h.Points[0].TotalLag != 2 || h.Points[2].TotalLag != 4 || h.IntervalSeconds != 5 || h.Markers == nil {
		t.Fatalf("history %+v", h)
	}
}
