package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os/exec"
	"strconv"
	"time"
)

// trackerLoads is how many times the tracker probe loads the site each
// way (cold, warm, without the tag).
const trackerLoads = 20

// Quantiles are a median and a 95th percentile.
type Quantiles struct {
	Median float64 `json:"median"`
	P95    float64 `json:"p95"`
}

// Tracker is what pulse.js costs a page: its size, and the main thread's
// script time of a site whose only script it is.
type Tracker struct {
	Loads int `json:"loads"`
	// Bytes and GzipBytes are pulse.js as served and as gzip -9 makes it.
	Bytes     int `json:"bytes"`
	GzipBytes int `json:"gzip_bytes"`
	// ScriptBytes and TransferBytes are what the browser saw (transfer:
	// headers included, uncompressed as this server sends it).
	ScriptBytes   int `json:"script_bytes"`
	TransferBytes int `json:"transfer_bytes"`
	// ColdScriptMS is the page's script time with pulse.js fetched,
	// WarmScriptMS on a reload (cached), BaselineScriptMS without the tag.
	ColdScriptMS     Quantiles `json:"cold_script_ms"`
	WarmScriptMS     Quantiles `json:"warm_script_ms"`
	BaselineScriptMS Quantiles `json:"baseline_script_ms"`
	// ColdLoadMS and WarmLoadMS are from navigation to the load event,
	// which waits for the deferred pulse.js to run.
	ColdLoadMS Quantiles `json:"cold_load_ms"`
	WarmLoadMS Quantiles `json:"warm_load_ms"`
	FetchMS    Quantiles `json:"fetch_ms"`
	Shape      string    `json:"load_shape"`
}

// tracker runs the tracker probe (Config.TrackerProbe) against an idle
// server that serves pulse.js, after the dashboard's probe.
func (r *runner) tracker(ctx context.Context) error {
	if len(r.cfg.TrackerProbe) == 0 || r.cfg.UI == nil {
		r.note("Tracker start-up skipped: no tracker probe or no UI in this binary (make bench runs node web/bench/tracker.mjs).")
		return nil
	}
	body, err := fs.ReadFile(r.cfg.UI, "pulse.js")
	if err != nil {
		r.note("Tracker start-up skipped: the UI build has no pulse.js.")
		return nil
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = w.Write(body)
	_ = w.Close()

	in, stop, err := r.serve(ctx, "tracker", serverOpts{consumers: members, ui: r.cfg.UI})
	if err != nil {
		return err
	}
	defer stop()
	args := append(append([]string{}, r.cfg.TrackerProbe[1:]...), in.url(""), strconv.Itoa(trackerLoads))
	pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(pctx, r.cfg.TrackerProbe[0], args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	r.progress("tracker: Chromium loading a site with pulse.js %d times each way", trackerLoads)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("tracker probe %v: %w: %s", r.cfg.TrackerProbe, err, bytes.TrimSpace(errOut.Bytes()))
	}
	res := Tracker{Bytes: len(body), GzipBytes: gz.Len(), Shape: fmt.Sprintf(
		"Chromium (headless), a one-page site on another origin whose only script is the pulse.js tag; %d loads each: cold (a fresh profile, pulse.js fetched from this machine's server), warm (a page of a profile that loaded it before, pulse.js cached) and the same page without the tag; script time is DevTools' ScriptDuration (parse, compile, run) of the load; the server idle",
		trackerLoads)}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res); err != nil {
		return fmt.Errorf("tracker probe answered %q: %w", out.String(), err)
	}
	r.rep.Tracker = &res
	return nil
}
