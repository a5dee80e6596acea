package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// Growth compares the assembly on an empty database and on a large one.
type Growth struct {
	Rows int `json:"rows"`
	// PreloadRate is how fast the rows went in (store.Write, big batches).
	PreloadRate float64 `json:"preload_records_per_s"`
	Empty       Sized   `json:"empty"`
	Loaded      Sized   `json:"loaded"`
	// Ratio is the loaded capacity over the empty one.
	Ratio float64 `json:"capacity_ratio_loaded_to_empty"`
	Shape string  `json:"shape"`
}

// Sized is what one database size gives.
type Sized struct {
	Capacity Spread `json:"capacity_events_per_s"`
	// StartupMS is how long the server took to start (store opened, live
	// statistics read from it), over the runs.
	StartupMS Spread             `json:"startup_ms"`
	Endpoints map[string]Latency `json:"endpoints"`
}

// dashboardEndpoints are what the dashboard polls.
var dashboardEndpoints = []string{"/api/events/latest/", "/api/queue/stats/", "/api/metrics/"}

func (r *runner) growth(ctx context.Context) error {
	p := r.plan
	pl, err := newPool(4096, 0)
	if err != nil {
		return err
	}
	g := &Growth{Rows: p.GrowthRows}
	loadedDir, err := r.dir("growth-loaded")
	if err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, filepath.Join(loadedDir, "pulse.db"), sqlite.Options{}, r.log)
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = insertRate(ctx, db, p.GrowthRows, 10_000, nil)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("preload %d rows: %w", p.GrowthRows, err)
	}
	g.PreloadRate = float64(p.GrowthRows) / time.Since(start).Seconds()
	r.progress("growth: preloaded %d rows at %.0f records/s", p.GrowthRows, g.PreloadRate)

	// The runs alternate, empty then loaded, so that drift in the machine
	// (other work, the page cache) weighs on both sides alike. Each empty
	// run starts from a fresh database; the loaded one keeps its rows and
	// grows by a backlog a run.
	var emptyCaps, loadedCaps, emptyStarts, loadedStarts []float64
	for i := range p.Reps {
		last := i == p.Reps-1
		emptyDir, err := r.dir("growth-empty")
		if err != nil {
			return err
		}
		for _, side := range []struct {
			name   string
			dir    string
			caps   *[]float64
			starts *[]float64
			out    *Sized
		}{{"empty", emptyDir, &emptyCaps, &emptyStarts, &g.Empty}, {"loaded", loadedDir, &loadedCaps, &loadedStarts, &g.Loaded}} {
			in, c, err := r.drainIn(ctx, side.dir, "", pl, p.Backlog)
			if err != nil {
				return err
			}
			*side.caps = append(*side.caps, c)
			*side.starts = append(*side.starts, float64(in.startup.Microseconds())/1000)
			r.progress("growth %s: drain run %d: %.0f events/s", side.name, i+1, c)
			if last {
				side.out.Endpoints, err = r.endpoints(ctx, in, p.EndpointRequests)
			}
			if serr := in.stop(); err == nil {
				err = serr
			}
			if err != nil {
				return err
			}
		}
		if err := os.RemoveAll(emptyDir); err != nil {
			return err
		}
	}
	g.Empty.Capacity, g.Loaded.Capacity = spread(emptyCaps), spread(loadedCaps)
	g.Empty.StartupMS, g.Loaded.StartupMS = spread(emptyStarts), spread(loadedStarts)
	g.Ratio = ratio(g.Loaded.Capacity.Median, g.Empty.Capacity.Median)
	g.Shape = fmt.Sprintf("SQLite; loaded: %d rows written before the server starts (store.Write, batches of 10,000); capacity as in the sustained scenario (backlog of %d, median of %d, empty and loaded runs alternating, each empty run on a fresh database, the loaded runs on the same one); endpoints: %d sequential keep-alive GETs each after the drain, server idle", p.GrowthRows, p.Backlog, p.Reps, p.EndpointRequests)
	r.rep.Growth = g
	return nil
}

// endpoints times n sequential GETs of each dashboard endpoint.
func (r *runner) endpoints(ctx context.Context, in *instance, n int) (map[string]Latency, error) {
	out := make(map[string]Latency, len(dashboardEndpoints))
	for _, path := range dashboardEndpoints {
		d := make([]time.Duration, 0, n)
		for range n {
			t := time.Now()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.url(path), nil)
			if err != nil {
				return nil, fmt.Errorf("GET %s: %w", path, err)
			}
			resp, err := in.client.Do(req)
			if err != nil {
				return nil, fmt.Errorf("GET %s: %w", path, err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("GET %s: status %d, %v", path, resp.StatusCode, err)
			}
			d = append(d, time.Since(t))
		}
		out[path] = latency(d)
	}
	return out, nil
}
