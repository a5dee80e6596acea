package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/pulse-dev/pulse/internal/series"
)

// SeriesReader reads the charts' series from the store.
type SeriesReader interface {
	EventSeries(ctx context.Context, from, to time.Time, step time.Duration) ([]series.Count, []series.BinCount, error)
}

// parseRange reads the range query parameter (series.Ranges; 15m when
// absent).
func parseRange(r *http.Request) (series.Range, error) {
	rg, err := series.ParseRange(r.URL.Query().Get("range"))
	if err != nil {
		return series.Range{}, Errorf(EInvalid, "%v", err)
	}
	return rg, nil
}

// eventSeries answers GET /api/series/: the events stored per type and
// their latency percentiles, per step of the range, up to now (the last
// step still filling). The live socket extends it.
func (s *Server) eventSeries(w http.ResponseWriter, r *http.Request) error {
	rg, err := parseRange(r)
	if err != nil {
		return err
	}
	from, to := rg.Window(time.Now())
	counts, bins, err := s.deps.Series.EventSeries(r.Context(), from, to, rg.Step)
	if err != nil {
		return fmt.Errorf("read the series: %w", err)
	}
	return writeJSON(w, http.StatusOK, series.Build(rg, from, to, counts, bins))
}
