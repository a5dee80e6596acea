package ops

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/live"
)

// Config configures the three owners together, as the API's Ops facade
// still expects them; it goes when the API asks for each owner.
type Config struct {
	Group      string
	Topic      string
	DLQTopic   string
	ClientOpts []kgo.Opt

	SampleInterval  time.Duration
	HistoryInterval time.Duration
	HistoryLen      int
	StallAfter      time.Duration
	BurstWindow     time.Duration
	BurstThreshold  int

	Now func() time.Time
}

// Deps are the parts of the three owners together.
type Deps struct {
	Admin    *kafka.Admin
	Producer *kafka.Producer
	Members  []Member
	Stats    *live.Stats
	Store    LatestReader
	Bus      Publisher
}

// Ops joins the three owners behind the API's facade, for the time being.
type Ops struct {
	*Monitor
	*DeadLetters
	loads *LoadRunner
}

// New returns the three owners joined.
func New(cfg Config, deps Deps, log *slog.Logger, reg prometheus.Registerer) (*Ops, error) {
	mon, err := NewMonitor(MonitorConfig{
		Group: cfg.Group, Topic: cfg.Topic, ClientOpts: cfg.ClientOpts,
		SampleInterval: cfg.SampleInterval, HistoryInterval: cfg.HistoryInterval, HistoryLen: cfg.HistoryLen,
		StallAfter: cfg.StallAfter, BurstWindow: cfg.BurstWindow, BurstThreshold: cfg.BurstThreshold, Now: cfg.Now,
	}, MonitorDeps{Admin: deps.Admin, Members: deps.Members, Stats: deps.Stats, Store: deps.Store, Bus: deps.Bus}, log, reg)
	if err != nil {
		return nil, err
	}
	dl, err := NewDeadLetters(DeadLetterConfig{Topic: cfg.Topic, DLQTopic: cfg.DLQTopic, ClientOpts: cfg.ClientOpts, Now: cfg.Now},
		deps.Admin, deps.Producer, log, reg)
	if err != nil {
		return nil, err
	}
	loads, err := NewLoadRunner(deps.Producer, log, reg)
	if err != nil {
		return nil, err
	}
	return &Ops{Monitor: mon, DeadLetters: dl, loads: loads}, nil
}

// Run runs the three owners until ctx ends.
func (o *Ops) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return o.Monitor.Run(gctx) })
	g.Go(func() error { return o.DeadLetters.Run(gctx) })
	g.Go(func() error { return o.loads.Run(gctx) })
	return g.Wait()
}

// StartLoad starts a load run.
func (o *Ops) StartLoad(req LoadRequest) (LoadRun, error) { return o.loads.Start(req) }

// Load returns the current or last load run.
func (o *Ops) Load() (LoadRun, bool) { return o.loads.Current() }

// StopLoad stops the current load run.
func (o *Ops) StopLoad(ctx context.Context) (LoadRun, error) { return o.loads.Stop(ctx) }
