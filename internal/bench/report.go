package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// Report is everything one run measured.
type Report struct {
	Date    time.Time `json:"date"`
	Elapsed string    `json:"elapsed"`
	Machine Machine   `json:"machine"`
	Plan    Plan      `json:"plan"`
	// LoadShape is true of every figure: the client side runs in the same
	// process as the server.
	LoadShape string          `json:"load_shape"`
	Headline  []Target        `json:"headline"`
	Limits    Limits          `json:"limits"`
	Sustained []Sustained     `json:"sustained"`
	Latency   *LatencyResult  `json:"latency,omitempty"`
	Growth    *Growth         `json:"growth,omitempty"`
	Insights  *InsightsResult `json:"insights,omitempty"`
	HTTP      *HTTPResult     `json:"http,omitempty"`
	Fanout    *Fanout         `json:"fanout,omitempty"`
	Page      *Page           `json:"page,omitempty"`
	Tracker   *Tracker        `json:"tracker,omitempty"`
	Memory    *Memory         `json:"memory,omitempty"`
	Notes     []string        `json:"notes,omitempty"`
}

// Target is one line of the headline table: a figure against the issue's
// target.
type Target struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Figure string `json:"figure"`
	// Status is met, missed or not measured.
	Status string `json:"status"`
}

const loadShape = "Everything runs in one process on this machine's cores: the server " +
	"(embedded broker, consumers, store, HTTP, WebSocket hub) and the client load " +
	"generators (Kafka producer, HTTP clients, WebSocket clients) share the CPU, over loopback."

func status(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func (r *runner) headline() []Target {
	rep := r.rep
	rep.LoadShape = loadShape
	var t []Target
	add := func(name, target, figure string, ok bool) {
		t = append(t, Target{Name: name, Target: target, Figure: figure, Status: status(ok)})
	}
	skip := func(name, target, why string) {
		t = append(t, Target{Name: name, Target: target, Figure: why, Status: "not measured"})
	}
	sus := map[string]*Sustained{}
	for i := range rep.Sustained {
		sus[rep.Sustained[i].Store] = &rep.Sustained[i]
	}
	for _, s := range []struct {
		store, label  string
		rate, share   float64
		rateT, shareT string
	}{
		{"sqlite", "SQLite", 15000, 0.70, "≥ 15,000 events/s", "≥ 70% of raw insert"},
		{"postgres", "PostgreSQL", 25000, 0.60, "≥ 25,000 events/s", "≥ 60% of raw insert"},
	} {
		v, ok := sus[s.store]
		if !ok {
			skip(s.label+" sustained throughput", s.rateT, "not measured (see notes)")
			skip(s.label+" share of raw insert rate", s.shareT, "not measured")
			continue
		}
		held := fmt.Sprintf("%s events/s held with bounded lag", num(v.Sustained))
		for _, st := range v.Steps {
			if st.Hold && st.Bounded && st.Offered == v.Sustained {
				held = fmt.Sprintf("%s events/s held %.0f s with bounded lag", num(v.Sustained), st.Seconds)
			}
		}
		if v.Sustained == 0 && len(v.Steps) > 0 {
			lowest := v.Steps[0].Offered
			for _, st := range v.Steps {
				lowest = min(lowest, st.Offered)
			}
			held = fmt.Sprintf("no offered rate held (lowest tried %s events/s)", num(lowest))
		}
		add(s.label+" sustained throughput", s.rateT,
			fmt.Sprintf("%s (drain capacity %s, min %s, max %s)", held, num(v.Capacity.Median), num(v.Capacity.Min), num(v.Capacity.Max)),
			v.Sustained >= s.rate)
		add(s.label+" share of raw insert rate", s.shareT,
			fmt.Sprintf("%.0f%% (%s of %s records/s; capacity %.0f%%)", 100*v.SustainedRatio, num(v.Sustained), num(v.InsertLimit), 100*v.CapacityRatio),
			v.SustainedRatio >= s.share)
	}
	// The write path pays for the property rollups (issue 18): the insert
	// rate with two keys kept against none, on each store.
	keptRatio := func(label string, with, without float64) {
		if without <= 0 {
			return
		}
		add(label+" insert rate with "+strings.Join(rep.Limits.KeptKeys, " and ")+" kept in the rollups", "within 10% of none kept",
			fmt.Sprintf("%.0f%% (%s vs %s records/s)", 100*with/without, num(with), num(without)), with >= 0.9*without)
	}
	keptRatio("SQLite", rep.Limits.SQLiteInsertKept.Median, rep.Limits.SQLiteInsert.Median)
	if rep.Limits.PostgresInsert != nil && rep.Limits.PostgresInsertKept != nil {
		keptRatio("PostgreSQL", rep.Limits.PostgresInsertKept.Median, rep.Limits.PostgresInsert.Median)
	}
	if l := rep.Latency; l != nil {
		add("p99 produce → stored at 1,000 events/s", "≤ 50 ms", fmt.Sprintf("%.1f ms (p50 %.1f, p95 %.1f, max %.1f)", l.ToStored.P99, l.ToStored.P50, l.ToStored.P95, l.ToStored.Max), l.ToStored.P99 <= 50)
		add("p99 produce → WebSocket at 1,000 events/s", "≤ 100 ms", fmt.Sprintf("%.1f ms (p50 %.1f, p95 %.1f, max %.1f)", l.ToWebSocket.P99, l.ToWebSocket.P50, l.ToWebSocket.P95, l.ToWebSocket.Max), l.ToWebSocket.P99 <= 100)
	} else {
		skip("p99 produce → stored / WebSocket", "≤ 50 / 100 ms", "not measured (see notes)")
	}
	if g := rep.Growth; g != nil {
		add(fmt.Sprintf("throughput with %s rows vs empty", num(float64(g.Rows))), "within 10% (5,000,000 rows)",
			fmt.Sprintf("%.0f%% (%s vs %s events/s)", 100*g.Ratio, num(g.Loaded.Capacity.Median), num(g.Empty.Capacity.Median)), g.Ratio >= 0.9)
		add(fmt.Sprintf("start-up with %s rows vs empty", num(float64(g.Rows))), "within 1 s of the empty start (issue 18: 10,000,000 rows)",
			fmt.Sprintf("%.0f ms vs %.0f ms (median of %d)", g.Loaded.StartupMS.Median, g.Empty.StartupMS.Median, len(g.Loaded.StartupMS.Runs)),
			g.Loaded.StartupMS.Median-g.Empty.StartupMS.Median <= 1000)
		for _, path := range dashboardEndpoints {
			v := g.Loaded.Endpoints[path]
			add(fmt.Sprintf("GET %s p99 with %s rows", path, num(float64(g.Rows))), "≤ 20 ms (5,000,000 rows)",
				fmt.Sprintf("%.1f ms (empty: %.1f ms)", v.P99, g.Empty.Endpoints[path].P99), v.Samples > 0 && v.P99 <= 20)
		}
	} else {
		skip("growth", "within 10%, endpoints ≤ 20 ms", "not measured (see notes)")
	}
	if in := rep.Insights; in != nil {
		for _, s := range in.Stores {
			for _, q := range insightQueries {
				goal := insightGoal(q, s.Store)
				v, target := s.Queries[q], fmt.Sprintf("p95 ≤ %.0f ms", goal)
				ok := v.Samples > 0 && v.P95 <= goal
				add(fmt.Sprintf("%s: %s, %s events", s.Store, q, num(float64(in.Events))), target+" (10,000,000 events)",
					fmt.Sprintf("p95 %.1f ms (p50 %.1f, max %.1f)", v.P95, v.P50, v.Max), ok)
			}
		}
	} else {
		skip("insights", "trend p95 ≤ 50 ms, live ≤ 10 ms, funnel and retention ≤ 1 s / 2 s", "not measured (see notes)")
	}
	if h := rep.HTTP; h != nil {
		add("POST /api/events/create/", "≥ 15,000 requests/s", fmt.Sprintf("%s requests/s (min %s, max %s)", num(h.Create.Median), num(h.Create.Min), num(h.Create.Max)), h.Create.Median >= 15000)
		add("POST /api/events/batch/ into Kafka", "≥ 100,000 events/s", fmt.Sprintf("%s events/s (min %s, max %s)", num(h.Batch.Median), num(h.Batch.Min), num(h.Batch.Max)), h.Batch.Median >= 100000)
		add("POST /api/collect into Kafka (500 clients, 10-event batches)", "≥ 100,000 events/s", fmt.Sprintf("%s events/s (min %s, max %s)", num(h.Collect.Median), num(h.Collect.Min), num(h.Collect.Max)), h.Collect.Median >= 100000)
	} else {
		skip("HTTP ingest", "≥ 15,000 requests/s, ≥ 100,000 events/s", "not measured (see notes)")
	}
	if f := rep.Fanout; f != nil {
		n := fmt.Sprintf("%s WebSocket clients at %s events/s", num(float64(f.Clients)), num(f.Rate))
		add(n+": p99 delivery", "≤ 250 ms (1,000 clients)", fmt.Sprintf("%.0f ms (p50 %.0f, max %.0f; produce→stored p99 %.0f)", f.Latency.P99, f.Latency.P50, f.Latency.Max, f.StoredLatency.P99), f.Latency.Samples > 0 && f.Latency.P99 <= 250)
		add(n+": RSS", "≤ 500 MB", fmt.Sprintf("%.0f MB (CPU %.2f cores)", f.RSSMB, f.CPUCores), f.RSSMB <= 500)
		fair := f.Disconnected == 0 && f.Stored > 0 && float64(f.Accounted.Min) >= 0.99*float64(f.Stored)
		add(n+": no client starves", "every client sent or told of every event",
			fmt.Sprintf("delivered+dropped per client min %s / max %s of %s stored (%s sent); delivered min %s, median %s; %d disconnected",
				num(float64(f.Accounted.Min)), num(float64(f.Accounted.Max)), num(float64(f.Stored)), num(float64(f.Sent)), num(float64(f.Delivered.Min)), num(float64(f.Delivered.Median)), f.Disconnected), fair)
		add(n+": pipeline keeps up", "all sent events stored",
			fmt.Sprintf("%s of %s stored within 30 s of the end", num(float64(f.Stored)), num(float64(f.Sent))), f.CaughtUp)
	} else {
		skip("fan-out", "p99 ≤ 250 ms, RSS ≤ 500 MB", "not measured (see notes)")
	}
	if pg := rep.Page; pg != nil {
		add(fmt.Sprintf("Dashboard in Chromium at %s events/s", num(pg.Rate)), "no main-thread task over 50 ms",
			fmt.Sprintf("%d long tasks, longest %.0f ms; longest frame gap %.0f ms; %.0f frames/s", pg.LongTasks, pg.LongestTaskMS, pg.LongestFrameGapMS, pg.FramesPerSecond),
			pg.LongTasks == 0)
	} else {
		skip("dashboard in a browser", "no main-thread task over 50 ms", "not measured (see notes)")
	}
	if tr := rep.Tracker; tr != nil {
		add("pulse.js on a page", "≤ 3 KB gzipped; its start-up cost reported",
			fmt.Sprintf("%s bytes, %s gzipped; script time %.1f ms cold, %.1f ms warm (%.1f ms without it), median of %d loads",
				num(float64(tr.Bytes)), num(float64(tr.GzipBytes)), tr.ColdScriptMS.Median, tr.WarmScriptMS.Median, tr.BaselineScriptMS.Median, tr.Loads),
			tr.GzipBytes <= 3072)
	}
	if m := rep.Memory; m != nil {
		add(fmt.Sprintf("RSS at %s events/s over %s", num(m.Rate), m.Duration), "flat: slope ≤ 5 MB/min, ≤ 500 MB (10 minutes asked)",
			fmt.Sprintf("%.0f → %.0f MB (max %.0f), slope %.1f MB/min over the second half", m.StartMB, m.EndMB, m.MaxMB, m.SlopeMBPerMin),
			m.SlopeMBPerMin <= 5 && m.MaxMB <= 500)
	} else {
		skip("memory", "flat", "not measured (see notes)")
	}
	return t
}

// num formats a count with thousands separators.
func num(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// write puts report.json and report.md in dir.
func (rep *Report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(rep.Markdown()), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// HeadlineTable is the Markdown table of the targets.
func (rep *Report) HeadlineTable() string {
	var b strings.Builder
	b.WriteString("| measure | target | this run | |\n|---|---|---|---|\n")
	for _, t := range rep.Headline {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Target, t.Figure, t.Status)
	}
	return b.String()
}

// Markdown renders the report.
func (rep *Report) Markdown() string {
	var b strings.Builder
	m := rep.Machine
	fmt.Fprintf(&b, "# Pulse benchmark (%s mode)\n\n", rep.Plan.Mode)
	fmt.Fprintf(&b, "Run on %s, took %s.\n\n", rep.Date.Format("2006-01-02 15:04 UTC"), rep.Elapsed)
	fmt.Fprintf(&b, "Machine: %s, %d cores, %s MB RAM, %s, kernel %s, %s.\n\n", m.CPU, m.Cores, num(float64(m.MemoryMB)), m.OS, m.Kernel, m.GoVersion)
	fmt.Fprintf(&b, "Load average (1, 5, 15 min) at the start: %s; at the end: %s. Anything above 0 there is other work sharing the cores with the run.\n\n", m.LoadStart, m.LoadEnd)
	fmt.Fprintf(&b, "Load shape: %s\n\n", rep.LoadShape)
	b.WriteString("## Headline\n\n")
	b.WriteString(rep.HeadlineTable())

	b.WriteString("\n## 1. Limits of this machine\n\n")
	l := rep.Limits
	b.WriteString("| limit | median | min | max |\n|---|---|---|---|\n")
	row := func(name string, s Spread, unit string) {
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", name, num(s.Median), unit, num(s.Min), num(s.Max))
	}
	kept := strings.Join(l.KeptKeys, " and ") + " kept"
	row("SQLite insert", l.SQLiteInsert, "records/s")
	row("SQLite insert, "+kept, l.SQLiteInsertKept, "records/s")
	if l.PostgresInsert != nil {
		row("PostgreSQL insert", *l.PostgresInsert, "records/s")
	}
	if l.PostgresInsertKept != nil {
		row("PostgreSQL insert, "+kept, *l.PostgresInsertKept, "records/s")
	}
	row("broker produce", l.Produce, "records/s")
	row("broker consume", l.Consume, "records/s")
	fmt.Fprintf(&b, "\nInsert: %s.\n\nBroker: %s.\n", l.InsertShape, l.BrokerShape)

	b.WriteString("\n## 2. Sustained end-to-end throughput\n\n")
	for _, s := range rep.Sustained {
		fmt.Fprintf(&b, "**%s**: sustained %s events/s (%.0f%% of the raw insert rate %s records/s); drain capacity median %s, min %s, max %s events/s (%.0f%%).\n\n",
			s.Store, num(s.Sustained), 100*s.SustainedRatio, num(s.InsertLimit), num(s.Capacity.Median), num(s.Capacity.Min), num(s.Capacity.Max), 100*s.CapacityRatio)
		b.WriteString("| offered events/s | held for | stored events/s | lag at end | least lag, last quarter | worst lag | bounded |\n|---|---|---|---|---|---|---|\n")
		for _, st := range s.Steps {
			held := fmt.Sprintf("%.0f s", st.Seconds)
			if st.Hold {
				held += " (hold)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %v |\n", num(st.Offered), held, num(st.Achieved), num(float64(st.LagEnd)), num(float64(st.LagLate)), num(float64(st.LagMax)), st.Bounded)
		}
		fmt.Fprintf(&b, "\nPipeline store writes on the last server: %.0f records per write, %.1f ms per write on average.\n\nLoad shape: %s.\n\n", s.MeanBatch, s.MeanWriteMS, s.Shape)
	}

	if v := rep.Latency; v != nil {
		b.WriteString("## 3. Latency at a steady rate\n\n| path | p50 | p95 | p99 | max | samples |\n|---|---|---|---|---|---|\n")
		for _, x := range []struct {
			n string
			l Latency
		}{{"produce → stored", v.ToStored}, {"produce → WebSocket", v.ToWebSocket}} {
			fmt.Fprintf(&b, "| %s | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %s |\n", x.n, x.l.P50, x.l.P95, x.l.P99, x.l.Max, num(float64(x.l.Samples)))
		}
		fmt.Fprintf(&b, "\nSent %s, received %s, sampled out %s. Load shape: %s.\n\n", num(float64(v.Sent)), num(float64(v.Received)), num(float64(v.Dropped)), v.Shape)
	}
	if g := rep.Growth; g != nil {
		fmt.Fprintf(&b, "## 4. Growth: empty vs %s rows\n\n", num(float64(g.Rows)))
		fmt.Fprintf(&b, "Preload: %s records/s. Capacity empty %s, loaded %s events/s (%.0f%%). Start-up (server.New: broker, store opened and checked, live statistics read from it): empty %.0f ms, loaded %.0f ms (medians).\n\n", num(g.PreloadRate), num(g.Empty.Capacity.Median), num(g.Loaded.Capacity.Median), 100*g.Ratio, g.Empty.StartupMS.Median, g.Loaded.StartupMS.Median)
		b.WriteString("| endpoint | empty p50 | empty p99 | loaded p50 | loaded p99 | loaded max |\n|---|---|---|---|---|---|\n")
		for _, p := range dashboardEndpoints {
			e, l := g.Empty.Endpoints[p], g.Loaded.Endpoints[p]
			fmt.Fprintf(&b, "| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms |\n", p, e.P50, e.P99, l.P50, l.P99, l.Max)
		}
		fmt.Fprintf(&b, "\nLoad shape: %s.\n\n", g.Shape)
	}
	if in := rep.Insights; in != nil {
		fmt.Fprintf(&b, "## 4b. Insights over %s events\n\n", num(float64(in.Events)))
		b.WriteString("| store | preload | query | p50 | p95 | max |\n|---|---|---|---|---|---|\n")
		for _, s := range in.Stores {
			for _, q := range insightQueries {
				v := s.Queries[q]
				fmt.Fprintf(&b, "| %s | %s records/s | %s | %.1f ms | %.1f ms | %.1f ms |\n", s.Store, num(s.PreloadRate), q, v.P50, v.P95, v.Max)
			}
		}
		b.WriteString("\n")
		for _, s := range in.Stores {
			fmt.Fprintf(&b, "%s: keeping the property plan once every event was stored took %.1f s (%d steps of %s event ids, back to back).\n\n",
				s.Store, s.KeepSeconds, s.KeepSteps, num(float64(store.FillChunk)))
		}
		fmt.Fprintf(&b, "Load shape: %s.\n\n", in.Shape)
	}
	if h := rep.HTTP; h != nil {
		b.WriteString("## 5. HTTP ingest\n\n")
		fmt.Fprintf(&b, "- POST /api/events/create/: median %s requests/s (min %s, max %s), %d errors\n", num(h.Create.Median), num(h.Create.Min), num(h.Create.Max), h.CreateErrors)
		fmt.Fprintf(&b, "- POST /api/events/batch/: median %s events/s (min %s, max %s), %d errors\n", num(h.Batch.Median), num(h.Batch.Min), num(h.Batch.Max), h.BatchErrors)
		fmt.Fprintf(&b, "- POST /api/collect (pulse.js's door): median %s events/s (min %s, max %s), %d errors\n\nLoad shape: %s.\n\n", num(h.Collect.Median), num(h.Collect.Min), num(h.Collect.Max), h.CollectErrors, h.Shape)
	}
	if f := rep.Fanout; f != nil {
		b.WriteString("## 6. Fan-out\n\n")
		fmt.Fprintf(&b, "%d clients (%d still connected at the end), %s events sent in the window, %s of them stored (caught up: %v).\n\n", f.Clients, f.Connected, num(float64(f.Sent)), num(float64(f.Stored)), f.CaughtUp)
		b.WriteString("| per client | min | median | max |\n|---|---|---|---|\n")
		for _, x := range []struct {
			n string
			p PerClient
		}{{"delivered", f.Delivered}, {"counted as sampled (dropped)", f.Dropped}, {"delivered + dropped", f.Accounted}} {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.n, num(float64(x.p.Min)), num(float64(x.p.Median)), num(float64(x.p.Max)))
		}
		fmt.Fprintf(&b, "\nProduce → stored over the same events: p50 %.0f ms, p99 %.0f ms, max %.0f ms.\n", f.StoredLatency.P50, f.StoredLatency.P99, f.StoredLatency.Max)
		fmt.Fprintf(&b, "\nDelivery latency over %d recording clients: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms (%s samples). Process CPU %.2f cores, RSS max %.0f MB. %s.\n\nLoad shape: %s.\n\n",
			f.LatencyClients, f.Latency.P50, f.Latency.P95, f.Latency.P99, f.Latency.Max, num(float64(f.Latency.Samples)), f.CPUCores, f.RSSMB, f.ProcessIncludes, f.Shape)
	}
	if pg := rep.Page; pg != nil {
		b.WriteString("## 7. Dashboard in a browser\n\n")
		fmt.Fprintf(&b, "Over %.0f s at %s events/s: %d frames (%.1f frames/s), longest gap between two frames %.0f ms; %d long tasks (over 50 ms), longest %.0f ms",
			pg.Seconds, num(pg.Rate), pg.Frames, pg.FramesPerSecond, pg.LongestFrameGapMS, pg.LongTasks, pg.LongestTaskMS)
		if len(pg.LongTaskAt) > 0 {
			at := make([]string, len(pg.LongTaskAt))
			for i, s := range pg.LongTaskAt {
				at[i] = fmt.Sprintf("%.1f s", s)
			}
			fmt.Fprintf(&b, " (at %s)", strings.Join(at, ", "))
		}
		fmt.Fprintf(&b, ". Start-up (opening the page to its first render of what it loads): %d long tasks, longest %.0f ms.\n\nLoad shape: %s.\n\n",
			pg.StartupLongTasks, pg.StartupLongestTaskMS, pg.Shape)
	}
	if tr := rep.Tracker; tr != nil {
		b.WriteString("### pulse.js on a page\n\n")
		fmt.Fprintf(&b, "pulse.js is %s bytes (%s gzipped). Main-thread script time of the page over %d loads: cold %.1f ms median (p95 %.1f), warm %.1f ms (p95 %.1f), the same page without the tag %.1f ms (p95 %.1f). From navigation to the load event (pulse.js has run): cold %.0f ms median (p95 %.0f), warm %.0f ms (p95 %.0f); fetching pulse.js took %.1f ms median (%s bytes transferred).\n\nLoad shape: %s.\n\n",
			num(float64(tr.Bytes)), num(float64(tr.GzipBytes)), tr.Loads, tr.ColdScriptMS.Median, tr.ColdScriptMS.P95, tr.WarmScriptMS.Median, tr.WarmScriptMS.P95,
			tr.BaselineScriptMS.Median, tr.BaselineScriptMS.P95, tr.ColdLoadMS.Median, tr.ColdLoadMS.P95, tr.WarmLoadMS.Median, tr.WarmLoadMS.P95,
			tr.FetchMS.Median, num(float64(tr.TransferBytes)), tr.Shape)
	}
	if m := rep.Memory; m != nil {
		b.WriteString("## 8. Memory\n\n")
		fmt.Fprintf(&b, "RSS %.0f MB at the start, %.0f MB at the end, %.0f MB at most; slope over the second half %.1f MB/min; %s events sent.\n\n",
			m.StartMB, m.EndMB, m.MaxMB, m.SlopeMBPerMin, num(float64(m.Sent)))
		fmt.Fprintf(&b, "At the end: Go heap in use %.0f MB, SQLite (page caches included) %.0f MB, embedded broker log on disk %.0f MB with retention %s.\n\nLoad shape: %s.\n\n",
			m.HeapEndMB, m.SQLiteEndMB, m.BrokerLogMB, m.BrokerRetention, m.Shape)
	}
	if len(rep.Notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}
