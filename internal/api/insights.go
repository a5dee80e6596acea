package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
)

// Insights answers the insights' questions (package insights).
type Insights interface {
	Trend(ctx context.Context, q insights.TrendQuery) (insights.Trend, error)
	Funnel(ctx context.Context, q insights.FunnelQuery) (insights.Funnel, error)
	Retention(ctx context.Context, q insights.RetentionQuery) (insights.Retention, error)
	Live(ctx context.Context, now time.Time) (insights.Live, error)
}

func (s *Server) insightRoutes(handle routeFunc) {
	if s.deps.Insights == nil {
		return
	}
	handle("GET", "/api/insights/trend/", auth.Viewer, s.wrap(s.trend))
	handle("POST", "/api/insights/funnel/", auth.Viewer, s.wrap(s.funnel))
	handle("GET", "/api/insights/retention/", auth.Viewer, s.wrap(s.retention))
	handle("GET", "/api/insights/live/", auth.Viewer, s.wrap(s.live))
}

// live answers GET /api/insights/live/: who is on the site now.
func (s *Server) live(w http.ResponseWriter, r *http.Request) error {
	if len(r.URL.Query()) > 0 {
		return Errorf(EInvalid, "the live panel takes no parameters")
	}
	l, err := s.deps.Insights.Live(r.Context(), time.Now())
	if err != nil {
		return fmt.Errorf("live: %w", err)
	}
	return writeJSON(w, http.StatusOK, l)
}

// trendRanges are the named ranges of a trend, ending now, and the
// interval each is counted by unless the request names one.
var trendRanges = map[string]struct {
	span     time.Duration
	interval string
}{
	"30m": {30 * time.Minute, insights.Minute},
	"1h":  {time.Hour, insights.Minute},
	"24h": {24 * time.Hour, insights.Hour},
	"7d":  {7 * 24 * time.Hour, insights.Day},
	"30d": {30 * 24 * time.Hour, insights.Day},
}

// maxTrendTypes bounds the event types one trend names.
const maxTrendTypes = 20

// trend answers GET /api/insights/trend/: events per bucket of an
// interval over a range, per type or split by a breakdown, with the
// previous period on compare=previous.
func (s *Server) trend(w http.ResponseWriter, r *http.Request) error {
	q, err := trendQuery(r, time.Now())
	if err != nil {
		return err
	}
	m := s.maskerFor(r)
	if err := refusePersonalFilters(m, "filter", q.Filters); err != nil {
		return err
	}
	t, err := s.deps.Insights.Trend(r.Context(), q)
	if errors.Is(err, insights.ErrInvalid) {
		return Errorf(EInvalid, "%s", strings.TrimPrefix(err.Error(), insights.ErrInvalid.Error()+": "))
	}
	if err != nil {
		return fmt.Errorf("trend: %w", err)
	}
	maskTrend(m, &t)
	return writeJSON(w, http.StatusOK, t)
}

// trendQuery reads a trend's query parameters.
func trendQuery(r *http.Request, now time.Time) (insights.TrendQuery, error) {
	v := r.URL.Query()
	var q insights.TrendQuery
	for _, raw := range v["event_type"] {
		for _, t := range strings.Split(raw, ",") {
			if t = strings.TrimSpace(t); t == "" {
				continue
			}
			if len(t) > event.MaxTypeLen {
				return q, Errorf(EInvalid, "event_type: longer than %d bytes", event.MaxTypeLen)
			}
			q.Types = append(q.Types, t)
		}
	}
	if len(q.Types) > maxTrendTypes {
		return q, Errorf(EInvalid, "event_type: at most %d types", maxTrendTypes)
	}
	rangeName := v.Get("range")
	from, to := v.Get("from"), v.Get("to")
	switch {
	case from != "" || to != "":
		if rangeName != "" {
			return q, Errorf(EInvalid, "range: give a range or from and to, not both")
		}
		var err error
		if q.From, err = parseTrendTime("from", from); err != nil {
			return q, err
		}
		if q.To, err = parseTrendTime("to", to); err != nil {
			return q, err
		}
		q.Interval = insights.Day
		if span := q.To.Sub(q.From); span <= 2*time.Hour {
			q.Interval = insights.Minute
		} else if span <= 3*24*time.Hour {
			q.Interval = insights.Hour
		}
	default:
		if rangeName == "" {
			rangeName = "24h"
		}
		rg, ok := trendRanges[rangeName]
		if !ok {
			return q, Errorf(EInvalid, "range: must be 30m, 1h, 24h, 7d or 30d, or give from and to")
		}
		q.From, q.To, q.Interval = now.Add(-rg.span), now, rg.interval
	}
	if i := v.Get("interval"); i != "" {
		q.Interval = i
	}
	q.Breakdown = v.Get("breakdown")
	q.Measure = v.Get("measure")
	for _, raw := range v["filter"] {
		f, err := parseFilter(raw)
		if err != nil {
			return q, err
		}
		q.Filters = append(q.Filters, f)
	}
	if raw := v.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > insights.MaxLimit {
			return q, Errorf(EInvalid, "limit: must be a whole number from 1 to %d", insights.MaxLimit)
		}
		q.Limit = n
	}
	switch c := v.Get("compare"); c {
	case "":
	case "previous":
		q.Compare = true
	default:
		return q, Errorf(EInvalid, "compare: must be previous, not %q", c)
	}
	return q, nil
}

// parseFilter reads a trend's filter=<field>:<op>[:<value>], the value of
// in being its values separated by commas ("\," a comma within a value,
// "\\" a backslash); a value may hold colons.
func parseFilter(raw string) (insights.Filter, error) {
	parts := strings.SplitN(raw, ":", 3)
	if len(parts) < 2 {
		return insights.Filter{}, Errorf(EInvalid, "filter %q: write <field>:<op>[:<value>], as properties.plan:equals:pro", raw)
	}
	f := insights.Filter{Field: parts[0], Op: parts[1]}
	if len(parts) == 3 {
		if f.Op == insights.OpIn {
			f.Values = splitValues(parts[2])
		} else {
			f.Value = parts[2]
		}
	}
	return f, nil
}

// splitValues splits a list at the commas that no backslash escapes.
func splitValues(text string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\\' && i+1 < len(text):
			i++
			cur.WriteByte(text[i])
		case c == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

func parseTrendTime(name, raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, Errorf(EInvalid, "%s: required with %s", name, map[string]string{"from": "to", "to": "from"}[name])
	}
	return parseTimeParam(name, raw)
}
