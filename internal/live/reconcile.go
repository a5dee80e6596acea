package live

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/metrics"
	"github.com/pulse-dev/pulse/internal/store"
)

// ReconcilerConfig says when the statistics are rebuilt from the store.
type ReconcilerConfig struct {
	// Always rebuilds on a timer: set when this process does not see every
	// change (no consumers here and no bus shared with those elsewhere), so
	// that its statistics follow what the others store.
	Always bool
	// MinInterval is the shortest time between two rebuilds (5 s). A
	// rebuild also waits at least CostFactor times as long as the last one
	// took, so it never takes more than 1/CostFactor of the store's time.
	MinInterval time.Duration
	// CostFactor (20) bounds the share of time spent rebuilding.
	CostFactor int
	// Check is how often the bus's gap count is looked at (1 s).
	Check time.Duration
}

func (c *ReconcilerConfig) defaults() {
	c.MinInterval = cmp.Or(c.MinInterval, 5*time.Second)
	c.Check = cmp.Or(c.Check, time.Second)
	c.CostFactor = cmp.Or(c.CostFactor, 20)
}

// TotalsReader reads the aggregates the statistics are rebuilt from.
type TotalsReader interface {
	Totals(ctx context.Context, recentSince time.Time) (store.Totals, error)
}

// GapCounter counts the changes a bus failed to deliver (Bus.Gaps,
// RedisBus.Gaps).
type GapCounter interface {
	Gaps() uint64
}

// Reconciler keeps the statistics true to the store when changes can be
// missed: a bus subscriber that had no room, Redis away for a while,
// consumers in other processes with no bus between them and this one, or
// retention deleting rows. It rebuilds them with Stats.Mark and
// Stats.Reconcile, which keep what arrives during the rebuild.
type Reconciler struct {
	cfg     ReconcilerConfig
	stats   *Stats
	store   TotalsReader
	gaps    GapCounter
	log     *slog.Logger
	trigger chan struct{}

	runs     prometheus.Counter
	failures prometheus.Counter
	drift    prometheus.Counter
	duration prometheus.Gauge
}

// NewReconciler returns a reconciler of stats against st. gaps may be nil
// (no bus to watch). reg may be nil.
func NewReconciler(cfg ReconcilerConfig, stats *Stats, st TotalsReader, gaps GapCounter, log *slog.Logger, reg prometheus.Registerer) *Reconciler {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reconciler{
		cfg: cfg, stats: stats, store: st, gaps: gaps,
		log:     log.With("component", "live_reconciler"),
		trigger: make(chan struct{}, 1),
		runs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_live_stats_rebuilds_total", Help: "Rebuilds of the live statistics from the store."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_live_stats_rebuild_failures_total", Help: "Rebuilds of the live statistics that failed to read the store."}),
		drift: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_live_stats_drift_events_total", Help: "Events a rebuild found the live statistics had missed (or counted twice)."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_live_stats_rebuild_seconds", Help: "How long the last rebuild of the live statistics took."}),
	}
	// A collector reg refuses (a clashing description) still counts,
	// unexported.
	_ = metrics.Register(reg, &r.runs)
	_ = metrics.Register(reg, &r.failures)
	_ = metrics.Register(reg, &r.drift)
	_ = metrics.Register(reg, &r.duration)
	return r
}

// Trigger asks for a rebuild as soon as the spacing allows.
func (r *Reconciler) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Run rebuilds when triggered, when the bus's gap count moves, and on the
// timer when Always is set, until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	check := time.NewTicker(r.cfg.Check)
	defer check.Stop()
	var seen uint64
	if r.gaps != nil {
		seen = r.gaps.Gaps()
	}
	wait := r.cfg.MinInterval
	last := time.Now()
	due := r.cfg.Always
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.trigger:
			due = true
		case <-check.C:
			if r.gaps != nil {
				if g := r.gaps.Gaps(); g != seen {
					seen, due = g, true
				}
			}
		}
		if !due || time.Since(last) < wait {
			continue
		}
		took, drift, err := r.rebuild(ctx)
		last = time.Now()
		wait = max(r.cfg.MinInterval, time.Duration(r.cfg.CostFactor)*took)
		if err != nil {
			// Logged, and tried again after the wait: a store outage
			// is reported by health, not by this loop.
			r.failures.Inc()
			if ctx.Err() == nil {
				r.log.Warn("rebuilding the statistics from the store failed", "err", err, "retry_in", wait)
			}
			continue
		}
		// A rebuild that corrected the counts may itself count twice the
		// few changes published between their commit and its read (see
		// Stats.Reconcile): another follows, after the spacing, until one
		// finds nothing to correct.
		due = r.cfg.Always || drift != 0
	}
}

func (r *Reconciler) rebuild(ctx context.Context) (time.Duration, int64, error) {
	start := time.Now()
	r.stats.Mark()
	t, err := r.store.Totals(ctx, start.Add(-recentWindow*time.Second))
	took := time.Since(start)
	if err != nil {
		r.stats.Unmark()
		return took, 0, err
	}
	d := r.stats.Reconcile(t)
	r.runs.Inc()
	r.duration.Set(took.Seconds())
	if d != 0 {
		r.drift.Add(float64(abs(d)))
		r.log.Debug("statistics rebuilt from the store", "events_found", d, "took", took)
	}
	return took, d, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
