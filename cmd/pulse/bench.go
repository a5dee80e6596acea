package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pulse-dev/pulse/internal/bench"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/web"
)

const benchSummary = `Measure Pulse on this machine: the raw limits (SQLite and PostgreSQL
inserts, broker produce and consume), sustained end-to-end throughput,
latency at 1,000 events/s, growth to --rows stored rows, trends,
funnels and retention over 10,000,000 events of 100,000 users, HTTP ingest,
WebSocket fan-out, the dashboard's main thread in Chromium (--page-probe)
and memory. Everything runs in this process over
loopback; about 20 minutes plus the --rows preload (several minutes for
5,000,000 rows) and the insights preload (about 15 minutes for
10,000,000 events on both stores), under 2 with --quick. Writes report.md and report.json
to --out. PostgreSQL figures are skipped, with a note, when
--postgres-url does not answer.`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	cfg.Log.Level = "warn"
	fs := newFlags("bench", benchSummary, &cfg, stderr)
	fs.Add(config.LogKeys()...)
	if err := fs.SetDefault(config.LogLevel, "warn"); err != nil {
		return err
	}
	f := fs.Flags()
	out := f.String("out", filepath.Join("bench", "results"), "directory for report.md and report.json")
	quick := f.Bool("quick", false, "short run (under 2 minutes) with fewer repetitions")
	pgURL := f.String("postgres-url", bench.DefaultPostgresURL, "PostgreSQL to measure; empty skips it")
	rows := f.Int("rows", 0, "rows preloaded for the growth scenario (default 5,000,000; 200,000 with --quick)")
	cpuProfile := f.String("cpuprofile", "", "write a CPU profile of the sustained SQLite run to this file")
	memProfile := f.String("memprofile", "", "write a heap profile at the end of the memory scenario to this file")
	only := f.String("only", "", "comma-separated scenarios to run ("+strings.Join(bench.Scenarios, ", ")+"); the ratios need limits")
	probe := f.String("page-probe", "node web/bench/page.mjs", "command that measures the dashboard in Chromium (the page scenario; empty skips it)")
	trackerProbe := f.String("tracker-probe", "node web/bench/tracker.mjs", "command that measures pulse.js on a page in Chromium (with the page scenario; empty skips it)")
	rest, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &exitError{2, fmt.Errorf("unexpected arguments %q", rest)}
	}
	if *rows < 0 {
		return &exitError{2, fmt.Errorf("--rows must not be negative (got %d)", *rows)}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	var scenarios []string
	if *only != "" {
		scenarios = strings.Split(*only, ",")
	}
	plan := bench.FullPlan(*rows)
	if *quick {
		plan = bench.QuickPlan(*rows)
	}
	rep, err := bench.Run(ctx, bench.Config{
		Plan: plan, OutDir: *out, PostgresURL: *pgURL, CPUProfile: *cpuProfile, MemProfile: *memProfile, Progress: stderr, Only: scenarios,
		UI: web.UI(), PageProbe: strings.Fields(*probe), TrackerProbe: strings.Fields(*trackerProbe),
	}, newLogger(&cfg, stderr))
	if rep != nil {
		fmt.Fprintf(stdout, "%s\nReport written to %s and %s (took %s).\n", rep.HeadlineTable(),
			filepath.Join(*out, "report.md"), filepath.Join(*out, "report.json"), rep.Elapsed)
	}
	return err
}
