package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
)

// maxFunnelBody bounds a funnel request: ten steps of ten filters of fifty
// values fit with room to spare.
const maxFunnelBody = 256 << 10

// funnelRequest is the body of POST /api/insights/funnel/. A funnel is a
// read; it is a POST because its steps and filters do not fit a query
// string.
type funnelRequest struct {
	Steps     []insights.FunnelStep `json:"steps"`
	Window    string                `json:"window"`
	Range     string                `json:"range"`
	From      string                `json:"from"`
	To        string                `json:"to"`
	Breakdown string                `json:"breakdown"`
	Limit     int                   `json:"limit"`
}

// funnel answers POST /api/insights/funnel/: how many users went through
// the steps in order within the window, per step, with the time between
// steps, the users who dropped and an optional breakdown.
func (s *Server) funnel(w http.ResponseWriter, r *http.Request) error {
	var in funnelRequest
	if err := decodeBody(w, r, maxFunnelBody, &in); err != nil {
		return err
	}
	q, err := in.query(time.Now())
	if err != nil {
		return err
	}
	m := s.maskerFor(r)
	for i, st := range q.Steps {
		if err := refusePersonalFilters(m, fmt.Sprintf("steps[%d].filters", i), st.Filters); err != nil {
			return err
		}
	}
	f, err := s.deps.Insights.Funnel(r.Context(), q)
	if errors.Is(err, insights.ErrInvalid) {
		return Errorf(EInvalid, "%s", strings.TrimPrefix(err.Error(), insights.ErrInvalid.Error()+": "))
	}
	if err != nil {
		return fmt.Errorf("funnel: %w", err)
	}
	maskFunnel(m, q.Breakdown, &f)
	return writeJSON(w, http.StatusOK, f)
}

func (in funnelRequest) query(now time.Time) (insights.FunnelQuery, error) {
	q := insights.FunnelQuery{Steps: in.Steps, Breakdown: in.Breakdown, Limit: in.Limit}
	for i, st := range in.Steps {
		if len(st.EventType) > event.MaxTypeLen {
			return q, Errorf(EInvalid, "steps[%d].event_type: longer than %d bytes", i, event.MaxTypeLen)
		}
	}
	if in.Window != "" {
		d, err := parseSpan(in.Window)
		if err != nil {
			return q, Errorf(EInvalid, "window: %v", err)
		}
		if d == 0 {
			// Zero is not "the default": a window must be asked for.
			return q, Errorf(EInvalid, "window must be between 1m and 90d")
		}
		q.Window = d
	}
	var err error
	q.From, q.To, err = rangeOf(in.Range, in.From, in.To, "7d", now)
	return q, err
}

// rangeOf reads a named range ending now, or from and to.
func rangeOf(name, from, to, fallback string, now time.Time) (time.Time, time.Time, error) {
	if from != "" || to != "" {
		if name != "" {
			return time.Time{}, time.Time{}, Errorf(EInvalid, "range: give a range or from and to, not both")
		}
		f, err := parseTrendTime("from", from)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		t, err := parseTrendTime("to", to)
		return f, t, err
	}
	if name == "" {
		name = fallback
	}
	rg, ok := trendRanges[name]
	if !ok {
		return time.Time{}, time.Time{}, Errorf(EInvalid, "range: must be 30m, 1h, 24h, 7d or 30d, or give from and to")
	}
	return now.Add(-rg.span), now, nil
}

// parseSpan reads a duration such as 90s, 30m, 1h30m or 7d.
func parseSpan(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 30m, 1h or 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 30m, 1h or 7d", s)
	}
	return d, nil
}
