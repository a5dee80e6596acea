package monitor

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
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
		Deps{Admin: admin, History: openStore(t)}, slog.New(logged), reg)
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

// openStore opens a real SQLite store in the test's directory.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newHistoryOnly returns a monitor with only its history parts, on db and
// a clock the test moves.
func newHistoryOnly(db HistoryStore, now *time.Time) *Group {
	return &Group{
		cfg:        Config{HistoryInterval: 5 * time.Second},
		deps:       Deps{History: db},
		log:        slog.New(slog.DiscardHandler),
		now:        func() time.Time { return *now },
		markersOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "m"}, []string{"kind"}),
	}
}

// The lag history and its markers are kept in the store: a monitor
// started again on it (a restart) answers what the first one sampled.
func TestHistorySurvivesARestart(t *testing.T) {
	db := openStore(t)
	now := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	first := newHistoryOnly(db, &now)
	first.view = &ConsumersView{}
	for i := range 12 {
		first.view.TotalLag = int64(i)
		first.recordPoint(t.Context())
		if i == 6 {
			first.raise([]event.Marker{{T: now, Kind: event.MarkerRebalance, Detail: "member left"}})
		}
		now = now.Add(5 * time.Second)
	}

	restarted := newHistoryOnly(db, &now)
	rg, _ := series.ParseRange("15m")
	h, err := restarted.History(t.Context(), rg)
	if err != nil {
		t.Fatal(err)
	}
	// 12 samples 5 s apart in 10 s steps: 6 points, each the higher sample.
	if len(h.Points) != 6 || h.Points[0].TotalLag != 1 || h.Points[5].TotalLag != 11 {
		t.Errorf("points after a restart = %+v, want 6 of 2 samples each", h.Points)
	}
	if len(h.Markers) != 1 || h.Markers[0].Detail != "member left" {
		t.Errorf("markers after a restart = %+v", h.Markers)
	}
	if h.IntervalSeconds != 5 || h.StepSeconds != 10 || h.Range != "15m" || !h.To.After(now.Add(-time.Second)) {
		t.Errorf("history %+v", h)
	}
	rg, _ = series.ParseRange("1h")
	if h, err = restarted.History(t.Context(), rg); err != nil || len(h.Points) != 2 {
		t.Errorf("1h history = %+v, %v; want 2 points of 30 s", h.Points, err)
	}
}
