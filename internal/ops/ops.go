// Package ops is the backend of Pulse's operator console: the consumer
// group seen with lag in records and in seconds, a lag history kept in the
// app with markers for rebalances, commit stalls and dead-letter bursts,
// the keys held back by the ordering rules, dead-letter triage and replay,
// and generated load runs.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/metrics"
	"github.com/pulse-dev/pulse/internal/pipeline"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultSampleInterval  = 2 * time.Second
	DefaultHistoryInterval = 5 * time.Second
	DefaultHistoryLen      = 720
	DefaultStallAfter      = 10 * time.Second
	DefaultBurstWindow     = 5 * time.Second
	DefaultBurstThreshold  = 10
	DefaultReplayRate      = 100
	MaxReplayRate          = 1000
	// DefaultDLQLimit and MaxDLQLimit bound how many dead letters one
	// listing reads.
	DefaultDLQLimit = 1000
	MaxDLQLimit     = 10000
	// SyncReplayMax is the largest selection replayed before the request
	// returns; bigger ones continue in the background.
	SyncReplayMax = 200
)

// Config configures the console's backend. Group, Topic and DLQTopic are
// required; zero durations and counts take the defaults above.
type Config struct {
	Group    string
	Topic    string
	DLQTopic string
	// ClientOpts reach the cluster (seed brokers, SASL, TLS); the console
	// reads record timestamps and dead letters with short-lived clients
	// built from them.
	ClientOpts []kgo.Opt

	// SampleInterval is how often the group's lag is sampled in the
	// background; GET /api/consumers/ answers the latest sample.
	SampleInterval time.Duration
	// HistoryInterval spaces the history points; HistoryLen is how many
	// are kept (720 × 5 s = one hour).
	HistoryInterval time.Duration
	HistoryLen      int
	// StallAfter marks a commit stall: a partition with lag whose
	// committed offset has not moved for this long.
	StallAfter time.Duration
	// BurstWindow and BurstThreshold mark a DLQ burst: more than
	// BurstThreshold dead letters within BurstWindow.
	BurstWindow    time.Duration
	BurstThreshold int

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (c *Config) defaults() {
	setDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur(&c.SampleInterval, DefaultSampleInterval)
	setDur(&c.HistoryInterval, DefaultHistoryInterval)
	setDur(&c.StallAfter, DefaultStallAfter)
	setDur(&c.BurstWindow, DefaultBurstWindow)
	if c.HistoryLen <= 0 {
		c.HistoryLen = DefaultHistoryLen
	}
	if c.BurstThreshold <= 0 {
		c.BurstThreshold = DefaultBurstThreshold
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Member is a consumer-group member running in this process.
type Member interface {
	Snapshot() pipeline.Snapshot
}

// LatestReader reads the newest stored events; freshness is measured on
// the newest one.
type LatestReader interface {
	LatestEvents(ctx context.Context, limit int) ([]event.Stored, error)
}

// Publisher carries markers to the live charts.
type Publisher interface {
	Publish(event.Change)
}

// Deps are the parts the console works with. Admin and Producer are
// required; Members may be empty (a process without consumers), Stats,
// Store and Bus nil (no freshness, rate or live markers then).
type Deps struct {
	Admin    *kafka.Admin
	Producer *kafka.Producer
	Members  []Member
	Stats    *live.Stats
	Store    LatestReader
	Bus      Publisher
}

// Ops is the console's backend. Create it with New and run it with Run:
// Run samples the group and owns background replays and load runs.
type Ops struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time

	replayed   prometheus.Counter
	loadSent   prometheus.Counter
	markersOut *prometheus.CounterVec
	lagRecords *prometheus.GaugeVec
	lagSeconds *prometheus.GaugeVec
	members    prometheus.Gauge
	freshness  prometheus.Gauge

	// sampleMu serialises samples (the background loop and a first
	// request that finds none).
	sampleMu sync.Mutex
	heads    map[int32]headTS
	det      *detector

	mu        sync.Mutex
	view      *ConsumersView
	points    []HistoryPoint // ring, oldest first once full
	pointPos  int
	markers   []event.Marker
	replayIDs map[string]bool

	// bg is the context of background work started by requests (replays,
	// load runs): Run cancels it when it returns and waits for the work
	// with wg. stopped refuses new work after that.
	bg      context.Context
	stopBG  context.CancelFunc
	runMu   sync.Mutex
	stopped bool
	wg      sync.WaitGroup

	load loadState
}

// New returns the console's backend.
func New(cfg Config, deps Deps, log *slog.Logger, reg prometheus.Registerer) (*Ops, error) {
	if cfg.Group == "" || cfg.Topic == "" || cfg.DLQTopic == "" {
		return nil, errors.New("new operator console: group, topic and DLQ topic are required")
	}
	if deps.Admin == nil || deps.Producer == nil {
		return nil, errors.New("new operator console: a Kafka admin and producer are required")
	}
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bg, stopBG := context.WithCancel(context.Background())
	o := &Ops{
		bg:        bg,
		stopBG:    stopBG,
		cfg:       cfg,
		deps:      deps,
		log:       log.With("component", "ops"),
		now:       cfg.Now,
		heads:     make(map[int32]headTS),
		det:       newDetector(cfg),
		replayIDs: make(map[string]bool),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_dlq_replayed_total", Help: "Dead letters replayed to the main topic.",
		}),
		loadSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_load_events_sent_total", Help: "Events sent by load runs.",
		}),
		markersOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ops_markers_total", Help: "Operational markers raised, by kind.",
		}, []string{"kind"}),
		lagRecords: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pulse_consumer_lag_records", Help: "Records the consumer group has yet to process, by partition (sampled).",
		}, []string{"partition"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pulse_consumer_lag_seconds", Help: "Age of the oldest unprocessed record, by partition (sampled).",
		}, []string{"partition"}),
		members: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_consumer_group_members", Help: "Members of the consumer group (sampled).",
		}),
		freshness: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_consumer_freshness_seconds", Help: "Time since the newest stored event was stored (sampled).",
		}),
	}
	// A collector reg refuses (a clashing description) still counts,
	// unexported.
	_ = metrics.Register(reg, &o.replayed)
	_ = metrics.Register(reg, &o.loadSent)
	_ = metrics.Register(reg, &o.markersOut)
	_ = metrics.Register(reg, &o.lagRecords)
	_ = metrics.Register(reg, &o.lagSeconds)
	_ = metrics.Register(reg, &o.members)
	_ = metrics.Register(reg, &o.freshness)
	return o, nil
}

// Run samples the consumer group until ctx ends, then stops any load run
// and background replay and waits for them. Requests may start such work
// before Run; Run must be called once New succeeded.
func (o *Ops) Run(ctx context.Context) error {
	defer func() {
		o.runMu.Lock()
		o.stopped = true
		o.runMu.Unlock()
		o.stopBG()
		o.wg.Wait()
	}()

	sampleT := time.NewTicker(o.cfg.SampleInterval)
	defer sampleT.Stop()
	historyT := time.NewTicker(o.cfg.HistoryInterval)
	defer historyT.Stop()
	// Dead letters are counted every second whatever the sampling
	// interval, so a burst is measured over its real window.
	dlqT := time.NewTicker(min(time.Second, o.cfg.BurstWindow/5))
	defer dlqT.Stop()

	// The first dead-letter count is the base a burst is measured from.
	o.checkDLQ()
	o.sampleOrWarn(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sampleT.C:
			o.sampleOrWarn(ctx)
		case <-historyT.C:
			o.recordPoint()
		case <-dlqT.C:
			o.checkDLQ()
		}
	}
}

// sampleOrWarn samples the group in the background, where a failure is
// logged and the next tick tries again. Consumers returns the same error
// to its caller instead, which logs it once.
func (o *Ops) sampleOrWarn(ctx context.Context) {
	if err := o.sample(ctx); err != nil {
		o.log.Warn("sample consumer group", "group", o.cfg.Group, "err", err)
	}
}

// goBackground runs fn in the background, owned by Run, and returns the
// cancel function of its context; false once Run has returned.
func (o *Ops) goBackground(fn func(ctx context.Context)) (context.CancelFunc, bool) {
	o.runMu.Lock()
	defer o.runMu.Unlock()
	if o.stopped {
		return nil, false
	}
	ctx, cancel := context.WithCancel(o.bg)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer cancel()
		fn(ctx)
	}()
	return cancel, true
}

// raise records markers, publishes them on the live bus and counts them.
func (o *Ops) raise(ms []event.Marker) {
	if len(ms) == 0 {
		return
	}
	o.mu.Lock()
	o.markers = append(o.markers, ms...)
	// Markers older than the history are of no use to the charts.
	cut := o.now().Add(-time.Duration(o.cfg.HistoryLen) * o.cfg.HistoryInterval)
	i := 0
	for i < len(o.markers) && o.markers[i].T.Before(cut) {
		i++
	}
	if len(o.markers)-i > maxMarkers {
		i = len(o.markers) - maxMarkers
	}
	o.markers = append(o.markers[:0], o.markers[i:]...)
	o.mu.Unlock()
	for _, m := range ms {
		o.markersOut.WithLabelValues(string(m.Kind)).Inc()
		o.log.Info("marker", "kind", m.Kind, "detail", m.Detail)
	}
	if o.deps.Bus != nil {
		o.deps.Bus.Publish(event.Change{Markers: ms})
	}
}

// maxMarkers bounds the markers kept, whatever their rate.
const maxMarkers = 1000

// RequestError is a request the console cannot act on; its text is safe
// to show the client.
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}
