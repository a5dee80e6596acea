// Package bench is Pulse's performance measurement: `pulse bench` (and
// `make bench`) runs every scenario of the performance issue in one
// process against in-process servers on loopback, bounded in time, and
// writes a Markdown and a JSON report. Each figure carries its load shape
// and, where it depends on one, its ratio to the machine limit measured in
// the same run.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/pipeline"
)

// members is the consumer-group size of every in-process server.
const members = 3

// DefaultPostgresURL is the database the benchmark uses when reachable.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Plan sizes every scenario. FullPlan and QuickPlan are the two the
// command runs; tests use tiny ones.
type Plan struct {
	Mode string `json:"mode"`
	// Reps is how many times each headline figure is measured.
	Reps int `json:"reps"`

	// LimitRows records (event + processing-log row) per raw insert run.
	LimitRows int `json:"limit_rows"`
	// LimitBatch is the raw insert batch size: the largest transaction
	// the pipeline makes (SQLite's group commit writes the batches of all
	// members together), so that no pipeline figure is compared with a
	// raw rate measured in smaller transactions than its own.
	LimitBatch int `json:"limit_batch"`
	// LimitRecords are produced, then consumed, per raw broker run.
	LimitRecords int `json:"limit_records"`

	// Backlog is the number of events preloaded into the topic before
	// the consumers start, to measure the pipeline's drain capacity.
	Backlog int `json:"backlog"`
	// Step is how long one offered rate is held when checking that lag
	// stays bounded; Steps bounds the search.
	Step  time.Duration `json:"step_ns"`
	Steps int           `json:"steps"`
	// Hold is how long the rate the search found is then held to confirm
	// it (the 60 s); one that fails is tried again 5% lower, at
	// most Holds times in all.
	Hold  time.Duration `json:"hold_ns"`
	Holds int           `json:"holds"`

	// LatencyRate is held for LatencyDuration (after a warm-up).
	LatencyRate     float64       `json:"latency_rate"`
	LatencyDuration time.Duration `json:"latency_duration_ns"`

	// GrowthRows are preloaded for the growth scenario.
	GrowthRows int `json:"growth_rows"`
	// InsightEvents of InsightUsers over InsightDays are preloaded for the
	// insights scenario, whose queries run InsightReps times each.
	InsightEvents int `json:"insight_events"`
	InsightUsers  int `json:"insight_users"`
	InsightDays   int `json:"insight_days"`
	InsightReps   int `json:"insight_reps"`
	// EndpointRequests per dashboard endpoint, sequential.
	EndpointRequests int `json:"endpoint_requests"`

	// HTTPDuration per HTTP ingest measurement, with HTTPClients
	// concurrent keep-alive clients for single events and BatchClients for
	// batches of BatchSize.
	HTTPDuration time.Duration `json:"http_duration_ns"`
	HTTPClients  int           `json:"http_clients"`
	BatchClients int           `json:"batch_clients"`
	BatchSize    int           `json:"batch_size"`
	// CollectClients keep-alive clients send CollectBatch events per
	// request to POST /api/collect.
	CollectClients int `json:"collect_clients"`
	CollectBatch   int `json:"collect_batch"`

	// PageRate events/s arrive while a browser watches the dashboard for
	// PageDuration.
	PageRate     float64       `json:"page_rate"`
	PageDuration time.Duration `json:"page_duration_ns"`

	// FanoutClients WebSocket clients watch FanoutRate events/s for
	// FanoutDuration.
	FanoutClients  int           `json:"fanout_clients"`
	FanoutRate     float64       `json:"fanout_rate"`
	FanoutDuration time.Duration `json:"fanout_duration_ns"`

	// MemoryRate is held for MemoryDuration while RSS is sampled.
	MemoryRate     float64       `json:"memory_rate"`
	MemoryDuration time.Duration `json:"memory_duration_ns"`
}

// FullPlan is `pulse bench`: about twenty minutes on two cores, ten of
// them the memory soak.
func FullPlan(rows int) Plan {
	if rows <= 0 {
		rows = 5_000_000
	}
	return Plan{
		Mode: "full", Reps: 3,
		LimitRows: 200_000, LimitBatch: members * pipeline.DefaultBatchSize, LimitRecords: 300_000,
		Backlog: 200_000, Step: 15 * time.Second, Steps: 5, Hold: time.Minute, Holds: 3,
		LatencyRate: 1000, LatencyDuration: 20 * time.Second,
		GrowthRows: rows, EndpointRequests: 300,
		InsightEvents: 10_000_000, InsightUsers: 100_000, InsightDays: 30, InsightReps: 20,
		HTTPDuration: 10 * time.Second, HTTPClients: 256, BatchClients: 4, BatchSize: 1000,
		CollectClients: 500, CollectBatch: 10,
		FanoutClients: 1000, FanoutRate: 5000, FanoutDuration: 20 * time.Second,
		PageRate: 5000, PageDuration: 30 * time.Second,
		MemoryRate: 5000, MemoryDuration: 10 * time.Minute,
	}
}

// QuickPlan is `pulse bench --quick`: under two minutes.
func QuickPlan(rows int) Plan {
	if rows <= 0 {
		rows = 200_000
	}
	return Plan{
		Mode: "quick", Reps: 1,
		LimitRows: 50_000, LimitBatch: members * pipeline.DefaultBatchSize, LimitRecords: 100_000,
		Backlog: 60_000, Step: 4 * time.Second, Steps: 4, Hold: 8 * time.Second, Holds: 2,
		LatencyRate: 1000, LatencyDuration: 5 * time.Second,
		GrowthRows: rows, EndpointRequests: 100,
		InsightEvents: 200_000, InsightUsers: 10_000, InsightDays: 30, InsightReps: 5,
		HTTPDuration: 3 * time.Second, HTTPClients: 256, BatchClients: 4, BatchSize: 1000,
		CollectClients: 500, CollectBatch: 10,
		FanoutClients: 100, FanoutRate: 5000, FanoutDuration: 5 * time.Second,
		PageRate: 5000, PageDuration: 10 * time.Second,
		MemoryRate: 5000, MemoryDuration: 20 * time.Second,
	}
}

// Config says what to run and where to write.
type Config struct {
	Plan Plan
	// OutDir receives report.md and report.json; empty writes nothing.
	OutDir string
	// WorkDir holds the databases and broker logs of the runs, removed
	// at the end (a temporary directory when empty).
	WorkDir string
	// PostgresURL is the PostgreSQL server to measure; unreachable or
	// empty skips the PostgreSQL figures with a note.
	PostgresURL string
	// CPUProfile, when set, receives a pprof CPU profile of the
	// sustained SQLite run.
	CPUProfile string
	// MemProfile, when set, receives a pprof heap profile taken at the
	// end of the memory scenario, after a collection.
	MemProfile string
	// Progress receives one line per step; nil is silent.
	Progress io.Writer
	// UI is the dashboard the page scenario serves, and PageProbe the
	// command that measures it in a browser (its arguments then the URL
	// and the seconds are appended): node web/bench/page.mjs. Either
	// missing skips the scenario with a note.
	UI        fs.FS
	PageProbe []string
	// TrackerProbe is the command that measures pulse.js on a page (its
	// arguments then the server's URL and the loads are appended): node
	// web/bench/tracker.mjs. Run with the page scenario; empty skips it.
	TrackerProbe []string
	// Only, when not empty, names the scenarios to run (see Scenarios);
	// the others are skipped with a note. The ratios need "limits".
	Only []string
}

// Scenarios are the benchmark's parts, in the order they run.
var Scenarios = []string{"limits", "sustained", "latency", "growth", "insights", "http", "fanout", "page", "memory"}

// runner carries one benchmark run.
type runner struct {
	cfg  Config
	plan Plan
	log  *slog.Logger
	work string
	rep  *Report
	// pg is the PostgreSQL URL when reachable.
	pg string
}

// Run measures every scenario and writes the report. A scenario that
// fails is recorded in the report's notes and the others still run; the
// error joins their failures.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Report, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Plan.Reps <= 0 {
		return nil, errors.New("bench: plan has no repetitions")
	}
	work := cfg.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "pulse-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: work directory: %w", err)
		}
		work = d
		defer os.RemoveAll(d)
	}
	r := &runner{cfg: cfg, plan: cfg.Plan, log: log.With("component", "bench"), work: work,
		rep: &Report{Date: time.Now().UTC(), Machine: machine(), Plan: cfg.Plan}}
	start := time.Now()

	r.pg = r.probePostgres(ctx)
	fns := map[string]func(context.Context) error{
		"limits": r.limits, "sustained": r.sustained, "latency": r.latency, "growth": r.growth, "insights": r.insights,
		"http": r.http, "fanout": r.fanout, "page": r.browser, "memory": r.memory,
	}
	for _, name := range cfg.Only {
		if fns[name] == nil {
			return nil, fmt.Errorf("bench: unknown scenario %q (known: %s)", name, strings.Join(Scenarios, ", "))
		}
	}
	var errs []error
	for _, name := range Scenarios {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, name) {
			r.note("Scenario %s skipped: not in --only.", name)
			continue
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		t := time.Now()
		r.progress("%s: start", name)
		if err := fns[name](ctx); err != nil {
			err = fmt.Errorf("%s: %w", name, err)
			r.note("Scenario %s failed: %v", name, err)
			errs = append(errs, err)
		}
		r.progress("%s: done in %.1fs", name, time.Since(t).Seconds())
	}
	r.rep.Elapsed = time.Since(start).Round(time.Second).String()
	r.rep.Machine.LoadEnd = loadavg()
	r.rep.Headline = r.headline()
	if cfg.OutDir != "" {
		if err := r.rep.write(cfg.OutDir); err != nil {
			errs = append(errs, err)
		}
	}
	return r.rep, errors.Join(errs...)
}

func (r *runner) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
	}
}

func (r *runner) note(format string, args ...any) {
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, args...))
}

// dir makes a fresh run directory.
func (r *runner) dir(name string) (string, error) { return tempDir(r.work, name) }

// serve starts a fresh in-process server for the scenario name. The stop
// it returns notes a failure to stop in the report instead of failing the
// scenario, whose figures are already taken.
func (r *runner) serve(ctx context.Context, name string, o serverOpts) (*instance, func(), error) {
	dir, err := r.dir(name)
	if err != nil {
		return nil, nil, err
	}
	in, err := startServer(ctx, dir, o, r.log)
	if err != nil {
		return nil, nil, err
	}
	return in, func() {
		if err := in.stop(); err != nil {
			r.note("%s: stopping the server: %v", name, err)
		}
	}, nil
}

// withProfile runs fn under the CPU profiler when one is configured.
func (r *runner) withProfile(fn func() error) error {
	if r.cfg.CPUProfile == "" {
		return fn()
	}
	f, err := createFile(r.cfg.CPUProfile)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	err = fn()
	pprof.StopCPUProfile()
	return err
}

// createFile creates path, and its directory if need be.
func createFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	return os.Create(path)
}

// writeHeapProfile writes the live heap to the configured file, if any.
func (r *runner) writeHeapProfile() error {
	if r.cfg.MemProfile == "" {
		return nil
	}
	f, err := createFile(r.cfg.MemProfile)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}
