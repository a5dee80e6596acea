package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"time"

	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Page is the dashboard's main thread in a real browser while events
// arrive at Rate: the longest task (the Long Tasks API sees those over 50
// ms) and the frame rate.
type Page struct {
	Rate    float64 `json:"rate"`
	Seconds float64 `json:"seconds"`
	// Frames and FramesPerSecond count animation frames (60 is every one).
	Frames          int     `json:"frames"`
	FramesPerSecond float64 `json:"frames_per_second"`
	// LongestFrameGapMS is the longest time between two frames: it bounds
	// the longest task, those under 50 ms included.
	LongestFrameGapMS float64 `json:"longest_frame_gap_ms"`
	LongTasks         int     `json:"long_tasks"`
	LongestTaskMS     float64 `json:"longest_task_ms"`
	// LongTaskAt is when each long task began, in seconds into the run.
	LongTaskAt []float64 `json:"long_task_at_s"`
	// The start-up's long tasks (navigation to the first render of what
	// the page loads) are counted apart from the run under load.
	StartupLongTasks     int     `json:"startup_long_tasks"`
	StartupLongestTaskMS float64 `json:"startup_longest_task_ms"`
	Shape                string  `json:"load_shape"`
}

// browser runs the scenario of the pages in a browser: the dashboard
// under load, then pulse.js on an idle server.
func (r *runner) browser(ctx context.Context) error {
	if err := r.page(ctx); err != nil {
		return err
	}
	return r.tracker(ctx)
}

// page runs the browser probe (Config.PageProbe) against a server with the
// UI, fed at PageRate events/s from the first second to the last.
func (r *runner) page(ctx context.Context) error {
	p := r.plan
	if len(r.cfg.PageProbe) == 0 || r.cfg.UI == nil {
		r.note("Scenario page skipped: no browser probe or no UI in this binary (make bench runs node web/bench/page.mjs).")
		return nil
	}
	in, stop, err := r.serve(ctx, "page", serverOpts{consumers: members, ui: r.cfg.UI})
	if err != nil {
		return err
	}
	defer stop()
	l, err := newLoader(in.BrokerAddr(), r.log)
	if err != nil {
		return err
	}
	defer l.close()
	gen := generator.New(generator.Config{Seed: 17})
	stamped := func(_ int64, now time.Time) (*kgo.Record, error) { return stampedRecord(gen, time.Now()) }

	// The load runs from before the page opens (start-up and the first
	// frames under load) to after the probe ends.
	lctx, stopLoad := context.WithCancel(ctx)
	loaded := make(chan error, 1)
	go func() {
		_, err := l.paced(lctx, p.PageRate, p.PageDuration+time.Minute, stamped)
		loaded <- err
	}()
	defer func() { stopLoad(); <-loaded }()

	args := append(append([]string{}, r.cfg.PageProbe[1:]...), in.url("/"), strconv.FormatFloat(p.PageDuration.Seconds(), 'f', -1, 64))
	pctx, cancel := context.WithTimeout(ctx, p.PageDuration+90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(pctx, r.cfg.PageProbe[0], args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	r.progress("page: Chromium watching the dashboard for %s at %s events/s", p.PageDuration, num(p.PageRate))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("browser probe %v: %w: %s", r.cfg.PageProbe, err, bytes.TrimSpace(errOut.Bytes()))
	}
	res := Page{Rate: p.PageRate, Shape: fmt.Sprintf("one Chromium page (1440×900, headless) on the dashboard, %s events/s produced into the embedded broker by this process meanwhile, measured from 3 s after the page connected (its first render of what it loads is the start-up); the browser shares the machine's cores with the server", num(p.PageRate))}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res); err != nil {
		return fmt.Errorf("browser probe answered %q: %w", out.String(), err)
	}
	r.rep.Page = &res
	return nil
}
