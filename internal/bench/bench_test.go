package bench

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/pipeline"
)

// TestRawLimitUsesThePipelinesLargestWrite: the ratio to the raw insert
// rate is only honest if no pipeline transaction is larger than the raw
// run's batches; a group commit holds up to one batch per member.
func TestRawLimitUsesThePipelinesLargestWrite(t *testing.T) {
	for _, p := range []Plan{FullPlan(0), QuickPlan(0)} {
		if want := members * pipeline.DefaultBatchSize; p.LimitBatch != want {
			t.Fatalf("%s plan: raw batches of %d, want %d (%d members × %d)",
				p.Mode, p.LimitBatch, want, members, pipeline.DefaultBatchSize)
		}
	}
}

// tinyPlan runs every scenario for about a second; scale shrinks counts
// further under the race detector.
func tinyPlan() Plan {
	scale := 1
	if raceEnabled {
		scale = 4
	}
	return Plan{
		Mode: "test", Reps: 1,
		LimitRows: 4000 / scale, LimitBatch: 500, LimitRecords: 20000 / scale,
		// The drain backlog is not scaled down: under the race detector
		// (and a loaded machine) a small one was half stored before its
		// produce was acknowledged, leaving too little to time.
		Backlog: 4000, Step: time.Second, Steps: 1,
		LatencyRate: 200, LatencyDuration: time.Second,
		GrowthRows: 6000 / scale, EndpointRequests: 10,
		InsightEvents: 3000 / scale, InsightUsers: 200, InsightDays: 30, InsightReps: 2,
		HTTPDuration: 500 * time.Millisecond, HTTPClients: 4, BatchClients: 2, BatchSize: 100,
		CollectClients: 4, CollectBatch: 10,
		FanoutClients: 10, FanoutRate: 200, FanoutDuration: time.Second,
		MemoryRate: 200, MemoryDuration: time.Second,
	}
}

func TestRunWritesASaneReport(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	var progress strings.Builder
	rep, err := Run(ctx, Config{
		Plan: tinyPlan(), OutDir: out, WorkDir: t.TempDir(), PostgresURL: DefaultPostgresURL,
		CPUProfile: filepath.Join(out, "cpu.pprof"), Progress: &progress,
	}, log)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}

	positive := map[string]float64{
		"SQLite insert":       rep.Limits.SQLiteInsert.Median,
		"produce":             rep.Limits.Produce.Median,
		"consume":             rep.Limits.Consume.Median,
		"record bytes":        float64(rep.Limits.RecordBytes),
		"HTTP create":         rep.HTTP.Create.Median,
		"HTTP batch":          rep.HTTP.Batch.Median,
		"HTTP collect":        rep.HTTP.Collect.Median,
		"growth preload":      rep.Growth.PreloadRate,
		"growth empty":        rep.Growth.Empty.Capacity.Median,
		"insights preload":    rep.Insights.Stores[0].PreloadRate,
		"insights funnel":     rep.Insights.Stores[0].Queries[insightQueries[2]].P50,
		"insights retention":  rep.Insights.Stores[len(rep.Insights.Stores)-1].Queries[insightQueries[3]].P50,
		"growth loaded":       rep.Growth.Loaded.Capacity.Median,
		"latency stored p50":  rep.Latency.ToStored.P50,
		"latency ws p99":      rep.Latency.ToWebSocket.P99,
		"fanout latency":      float64(rep.Fanout.Latency.Samples),
		"fanout delivered":    float64(rep.Fanout.Delivered.Min),
		"fanout cpu":          rep.Fanout.CPUCores,
		"fanout rss":          rep.Fanout.RSSMB,
		"memory end":          rep.Memory.EndMB,
		"cores":               float64(rep.Machine.Cores),
		"postgres insert":     rep.Limits.PostgresInsert.Median,
		"offered sqlite":      rep.Sustained[0].Steps[0].Offered,
		"stored sqlite":       rep.Sustained[0].Steps[0].Achieved,
		"capacity sqlite":     rep.Sustained[0].Capacity.Median,
		"capacity postgres":   rep.Sustained[1].Capacity.Median,
		"insert limit sqlite": rep.Sustained[0].InsertLimit,
		"latency stored n":    float64(rep.Latency.ToStored.Samples),
		"endpoint latest p99": rep.Growth.Loaded.Endpoints["/api/events/latest/"].P99,
	}
	for name, v := range positive {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if got := rep.Sustained[1].Store; got != "postgres" {
		t.Errorf("second sustained store = %q", got)
	}
	if l := rep.Latency.ToWebSocket; l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max {
		t.Errorf("percentiles out of order: %+v", l)
	}
	if rep.Fanout.Stored <= 0 || rep.Fanout.Accounted.Min < rep.Fanout.Stored {
		t.Errorf("a fan-out client accounted for %d of %d stored events", rep.Fanout.Accounted.Min, rep.Fanout.Stored)
	}
	if len(rep.Headline) < 15 {
		t.Errorf("headline has %d rows, want every target", len(rep.Headline))
	}
	for _, h := range rep.Headline {
		// The browser probe needs node, Chromium and the built UI: the
		// scenario says it was skipped (below) rather than measure nothing.
		if h.Name == "dashboard in a browser" && h.Status == "not measured" {
			continue
		}
		if h.Status != "met" && h.Status != "missed" {
			t.Errorf("headline %q: status %q", h.Name, h.Status)
		}
	}

	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Headline", "Machine: ", "Load shape:", "## 8. Memory", "/api/metrics/", "Scenario page skipped: no browser probe"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if back.Limits.SQLiteInsert.Median != rep.Limits.SQLiteInsert.Median || back.Machine.GoVersion == "" {
		t.Errorf("report.json does not round-trip: %+v", back.Limits)
	}
	if fi, err := os.Stat(filepath.Join(out, "cpu.pprof")); err != nil || fi.Size() == 0 {
		t.Errorf("cpu profile: %v", err)
	}
}

func TestStatistics(t *testing.T) {
	s := spread([]float64{3, 1, 2})
	if s.Median != 2 || s.Min != 1 || s.Max != 3 {
		t.Errorf("spread = %+v", s)
	}
	if s := spread([]float64{4, 1}); s.Median != 2.5 {
		t.Errorf("even spread median = %v", s.Median)
	}
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := latency(d)
	if l.P50 != 50 || l.P95 != 95 || l.P99 != 99 || l.Max != 100 || l.Samples != 100 {
		t.Errorf("latency = %+v", l)
	}
	if got := slope([]float64{0, 1, 2}, []float64{10, 12, 14}); got != 2 {
		t.Errorf("slope = %v", got)
	}
	if got := num(1234567); got != "1,234,567" {
		t.Errorf("num = %q", got)
	}
	if got := withSearchPath("postgres://u@h:5432/db?sslmode=disable", "s1"); !strings.Contains(got, "search_path=s1") || !strings.Contains(got, "sslmode=disable") {
		t.Errorf("withSearchPath = %q", got)
	}
}

func TestMachineAndProcess(t *testing.T) {
	m := machine()
	if m.Cores <= 0 || m.GoVersion == "" {
		t.Errorf("machine = %+v", m)
	}
	if v, err := rssMB(); err != nil || v <= 0 {
		t.Errorf("rssMB = %v, %v", v, err)
	}
	if _, err := cpuTime(); err != nil {
		t.Errorf("cpuTime: %v", err)
	}
}

func TestCountFrameMatchesADecode(t *testing.T) {
	evs := []map[string]any{{"event_id": "a", "message": `quoted "event_id": inside`}, {"event_id": "b"}, {"event_id": "c"}}
	data, err := json.Marshal(map[string]any{"type": "new_events", "events": evs, "dropped": 42})
	if err != nil {
		t.Fatal(err)
	}
	// The frame's field order is the hub's: type first.
	frame := append([]byte(`{"type":"new_events",`), data[1:]...)
	if n, d, ok := countFrame(frame); !ok || n != 3 || d != 42 {
		t.Errorf("countFrame(new_events) = %d, %d, %v; want 3, 42, true", n, d, ok)
	}
	if n, d, ok := countFrame([]byte(`{"type":"new_event","event":{"event_id":"x"}}`)); !ok || n != 1 || d != 0 {
		t.Errorf("countFrame(new_event) = %d, %d, %v", n, d, ok)
	}
	if n, _, ok := countFrame([]byte(`{"type":"stats_update","stats":{}}`)); !ok || n != 0 {
		t.Errorf("countFrame(stats_update) = %d, %v", n, ok)
	}
}

func TestSearchNarrowsToTheHighestHeldRate(t *testing.T) {
	// A store that holds up to 21,000 events/s and, when offered more,
	// stores 20,500/s; the drain capacity alone is 28,000/s.
	const limit, capacity = 21_000.0, 28_000.0
	var s search
	rate, steps := 0.9*capacity, 0
	for rate > 0 {
		steps++
		st := Step{Offered: rate, Bounded: rate <= limit, Achieved: min(rate, 20_500)}
		rate = s.next(st, capacity, steps < 10)
	}
	if s.held > limit || s.held < 0.95*limit {
		t.Fatalf("held %.0f after %d steps, want within 5%% under %.0f", s.held, steps, limit)
	}
	if steps > 6 {
		t.Fatalf("took %d steps", steps)
	}
}

func TestSearchClimbsWhileStepsHold(t *testing.T) {
	var s search
	rate, offered := 900.0, []float64{}
	for rate > 0 {
		offered = append(offered, rate)
		rate = s.next(Step{Offered: rate, Bounded: true, Achieved: rate}, 1000, len(offered) < 10)
	}
	if s.held < 1000 || s.held > 1200 || len(offered) != 4 {
		t.Fatalf("offered %v, held %.0f", offered, s.held)
	}
}
