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

// retention answers GET /api/insights/retention/: the users first seen in
// each day or week of a range, and how many of them came back in each
// later one.
func (s *Server) retention(w http.ResponseWriter, r *http.Request) error {
	q, err := retentionQuery(r, time.Now())
	if err != nil {
		return err
	}
	ret, err := s.deps.Insights.Retention(r.Context(), q)
	if errors.Is(err, insights.ErrInvalid) {
		return Errorf(EInvalid, "%s", strings.TrimPrefix(err.Error(), insights.ErrInvalid.Error()+": "))
	}
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	return writeJSON(w, http.StatusOK, ret)
}

// retentionQuery reads period (day or week), a range of Nd or Nw ending
// now (14d of days or 8w of weeks by default) or from and to, and
// return_event.
func retentionQuery(r *http.Request, now time.Time) (insights.RetentionQuery, error) {
	v := r.URL.Query()
	q := insights.RetentionQuery{Period: v.Get("period"), ReturnEvent: v.Get("return_event"), Now: now}
	if q.Period == "" {
		q.Period = insights.Day
	}
	if q.Period != insights.Day && q.Period != insights.Week {
		return q, Errorf(EInvalid, "period: must be day or week, not %q", q.Period)
	}
	if len(q.ReturnEvent) > event.MaxTypeLen {
		return q, Errorf(EInvalid, "return_event: longer than %d bytes", event.MaxTypeLen)
	}
	name, from, to := v.Get("range"), v.Get("from"), v.Get("to")
	if from != "" || to != "" {
		if name != "" {
			return q, Errorf(EInvalid, "range: give a range or from and to, not both")
		}
		var err error
		if q.From, err = parseTrendTime("from", from); err != nil {
			return q, err
		}
		q.To, err = parseTrendTime("to", to)
		return q, err
	}
	if name == "" {
		name = map[string]string{insights.Day: "14d", insights.Week: "8w"}[q.Period]
	}
	span, err := retentionSpan(name)
	if err != nil {
		return q, err
	}
	// The range ends with the period holding now, so that 14d of days is
	// fourteen cohorts, today's the last.
	width := map[string]time.Duration{insights.Day: 24 * time.Hour, insights.Week: 7 * 24 * time.Hour}[q.Period]
	q.From, q.To = now.Add(min(0, width-span)), now
	return q, nil
}

// retentionSpan reads a range such as 14d or 8w.
func retentionSpan(name string) (time.Duration, error) {
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[name[len(name)-1]]
	n, err := strconv.Atoi(name[:len(name)-1])
	if unit == 0 || err != nil || n < 1 || n > insights.MaxCohorts*7 {
		return 0, Errorf(EInvalid, "range: must be a number of days or weeks such as 14d or 8w, or give from and to")
	}
	return time.Duration(n) * unit, nil
}
