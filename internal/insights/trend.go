// Package insights answers the questions a team asks of its events
// (trends first) from the store's rollups, never from the events
// themselves: a trend over 30 days reads rows per hour of the range.
package insights

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// Intervals a trend is counted by. Days and weeks are UTC; weeks start on
// Monday (ISO 8601).
const (
	Minute = "minute"
	Hour   = "hour"
	Day    = "day"
	Week   = "week"
)

// Breakdowns a trend can be split by, besides none.
var Breakdowns = []string{"event_type", store.DimPage, store.DimElement, store.DimSource}

// MaxBuckets bounds a trend's buckets (a minute interval over 30 days
// would be 43,200).
const MaxBuckets = 2000

// DefaultLimit and MaxLimit bound the series of a breakdown; the rest is
// summed as "other".
const (
	DefaultLimit = 10
	MaxLimit     = 50
)

// OtherKey names the series of a breakdown's values beyond the limit.
const OtherKey = "(other)"

// TrendQuery asks for a trend. From and To are the range; the buckets
// cover it, the first one starting at From rounded down to the interval
// and the last one holding To (still filling when To is now).
type TrendQuery struct {
	Types     []string
	From, To  time.Time
	Interval  string
	Breakdown string
	Limit     int
	// Compare adds the previous period: as many buckets, ending where the
	// first one of the range starts.
	Compare bool
	// Measure is what the counts count: MeasureCount (the default),
	// MeasureUsers or MeasureSessions.
	Measure string
	// Filters keep the events whose fields match, all of them.
	Filters []Filter
}

// Series is one line of a trend.
type Series struct {
	// Key is the event type, or the breakdown's value ("" for events
	// without one), or OtherKey.
	Key    string  `json:"key"`
	Other  bool    `json:"other,omitempty"`
	Total  int64   `json:"total"`
	Counts []int64 `json:"counts"`
}

// Period is a trend over one range.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Buckets are the starts of the buckets; Series[i].Counts[j] is in
	// bucket j.
	Buckets []time.Time `json:"buckets"`
	Series  []Series    `json:"series"`
	Total   int64       `json:"total"`
}

// Trend is the answer of a TrendQuery.
type Trend struct {
	Interval  string `json:"interval"`
	Breakdown string `json:"breakdown"`
	// Measure is what the counts count: stored events, or distinct users
	// or sessions.
	Measure string `json:"measure"`
	// Exact is false for distinct users or sessions from the sketches:
	// exact up to a few thousand, within about 1% beyond.
	Exact    bool    `json:"exact"`
	Current  Period  `json:"current"`
	Previous *Period `json:"previous"`
}

// ErrInvalid is wrapped by the errors of a query that cannot be answered.
var ErrInvalid = errors.New("invalid insight query")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Store is what the insights read: the rollups for trends, the events of
// a type over a range for funnels, the activity and first seen for
// retention.
type Store interface {
	store.Rollups
	store.Uniques
	store.Scanner
	store.Activity
}

// Service answers insights from the store.
type Service struct {
	store Store
}

// New returns a service reading st.
func New(st Store) *Service { return &Service{store: st} }

// Trend counts the events q selects per bucket of its interval.
func (s *Service) Trend(ctx context.Context, q TrendQuery) (Trend, error) {
	if err := q.check(); err != nil {
		return Trend{}, err
	}
	period := s.period
	switch {
	case q.readsSketches():
		period = s.sketchPeriod
	case q.readsEvents():
		period = s.eventPeriod
	case q.byProperty():
		period = s.propertyPeriod
	}
	cur, keys, err := period(ctx, q, q.From, q.To, nil)
	if err != nil {
		return Trend{}, err
	}
	t := Trend{Interval: q.Interval, Breakdown: q.Breakdown, Measure: q.Measure, Exact: !q.readsSketches(), Current: cur}
	if q.Compare {
		n := len(cur.Buckets)
		first := cur.Buckets[0]
		from := first
		for range n {
			from = step(from, q.Interval, -1)
		}
		prev, _, err := period(ctx, q, from, first.Add(-time.Nanosecond), keys)
		if err != nil {
			return Trend{}, err
		}
		t.Previous = &prev
	}
	return t, nil
}

func (q *TrendQuery) check() error {
	switch q.Interval {
	case Minute, Hour, Day, Week:
	default:
		return invalidf("interval must be minute, hour, day or week, not %q", q.Interval)
	}
	if q.Breakdown != "" && !slices.Contains(Breakdowns, q.Breakdown) {
		k, ok := strings.CutPrefix(q.Breakdown, store.PropertyPrefix)
		if !ok {
			return invalidf("breakdown must be one of %v or properties.<key>, not %q", Breakdowns, q.Breakdown)
		}
		if err := store.CheckField(q.Breakdown); err != nil {
			return invalidf("breakdown by %s: %v", k, err)
		}
	}
	if q.Measure == "" {
		q.Measure = MeasureCount
	}
	if !slices.Contains(Measures, q.Measure) {
		return invalidf("measure must be count, users or sessions, not %q", q.Measure)
	}
	if err := checkFilters(q.Filters); err != nil {
		return invalidf("%v", err)
	}
	if !q.To.After(q.From) {
		return invalidf("the range must end after it starts (from %s, to %s)", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return invalidf("limit must be between 1 and %d", MaxLimit)
	}
	if n := bucketCount(q.From, q.To, q.Interval); n > MaxBuckets {
		return invalidf("%d buckets of a %s in this range; at most %d (choose a longer interval)", n, q.Interval, MaxBuckets)
	}
	return nil
}

// period counts one range. keys, when set, are the series to answer (the
// current period's, for the previous one); otherwise they are chosen from
// the range's totals, and returned.
func (s *Service) period(ctx context.Context, q TrendQuery, from, to time.Time, keys []string) (Period, []string, error) {
	buckets := bucketStarts(from, to, q.Interval)
	end := step(buckets[len(buckets)-1], q.Interval, 1)
	width := store.RollupHour
	if q.Interval == Minute {
		width = store.RollupMinute
	}
	dim := store.DimAll
	if q.Breakdown != "" && q.Breakdown != "event_type" {
		dim = q.Breakdown
	}
	rows, err := s.store.RollupCounts(ctx, store.RollupQuery{Width: width, Dim: dim, From: buckets[0], To: end, Types: q.Types})
	if err != nil {
		return Period{}, nil, fmt.Errorf("read the rollups: %w", err)
	}
	// The series a row counts towards: its type without a breakdown or
	// by type, its value with one.
	keyOf := func(r store.RollupCount) string {
		if dim == store.DimAll {
			if q.Breakdown == "" && len(q.Types) == 0 {
				return ""
			}
			return r.EventType
		}
		return r.Value
	}
	index := make(map[time.Time]int, len(buckets))
	for i, b := range buckets {
		index[b] = i
	}
	counts := map[string][]int64{}
	totals := map[string]int64{}
	var total int64
	for _, r := range rows {
		i, ok := index[truncate(time.Unix(r.Bucket, 0).UTC(), q.Interval)]
		if !ok {
			continue
		}
		k := keyOf(r)
		c := counts[k]
		if c == nil {
			c = make([]int64, len(buckets))
			counts[k] = c
		}
		c[i] += r.Events
		totals[k] += r.Events
		total += r.Events
	}
	if keys == nil {
		keys = chooseKeys(q, totals)
	}
	p := Period{From: from, To: to, Buckets: buckets, Series: make([]Series, 0, len(keys)+1), Total: total}
	shown := make(map[string]bool, len(keys))
	for _, k := range keys {
		shown[k] = true
		c := counts[k]
		if c == nil {
			c = make([]int64, len(buckets))
		}
		p.Series = append(p.Series, Series{Key: k, Total: totals[k], Counts: c})
	}
	// Only a breakdown sums the rest; asked-for types are all shown.
	if q.Breakdown != "" {
		other := Series{Key: OtherKey, Other: true, Counts: make([]int64, len(buckets))}
		for k, c := range counts {
			if shown[k] {
				continue
			}
			for i, n := range c {
				other.Counts[i] += n
			}
			other.Total += totals[k]
		}
		if other.Total != 0 {
			p.Series = append(p.Series, other)
		}
	}
	return p, keys, nil
}

// chooseKeys picks the series of a period: the asked-for types in their
// order, one series of all events, or a breakdown's largest values.
func chooseKeys(q TrendQuery, totals map[string]int64) []string {
	switch {
	case q.Breakdown == "" && len(q.Types) > 0:
		var keys []string
		for _, t := range q.Types {
			if !slices.Contains(keys, t) {
				keys = append(keys, t)
			}
		}
		return keys
	case q.Breakdown == "":
		return []string{""}
	}
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b)) })
	if len(keys) > q.Limit {
		keys = keys[:q.Limit]
	}
	return keys
}

// truncate returns the start of the bucket of interval holding t (UTC).
func truncate(t time.Time, interval string) time.Time {
	t = t.UTC()
	switch interval {
	case Minute:
		return t.Truncate(time.Minute)
	case Hour:
		return t.Truncate(time.Hour)
	case Day:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	default: // Week, from Monday
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	}
}

// step moves a bucket start n buckets on (or back).
func step(t time.Time, interval string, n int) time.Time {
	switch interval {
	case Minute:
		return t.Add(time.Duration(n) * time.Minute)
	case Hour:
		return t.Add(time.Duration(n) * time.Hour)
	case Day:
		return t.AddDate(0, 0, n)
	default:
		return t.AddDate(0, 0, 7*n)
	}
}

// bucketStarts are the starts of the buckets from the one holding from to
// the one holding to.
func bucketStarts(from, to time.Time, interval string) []time.Time {
	var out []time.Time
	for b := truncate(from, interval); !b.After(to); b = step(b, interval, 1) {
		out = append(out, b)
	}
	return out
}

// bucketCount is len(bucketStarts(from, to, interval)) without building
// them.
func bucketCount(from, to time.Time, interval string) int64 {
	a, b := truncate(from, interval), truncate(to, interval)
	var w time.Duration
	switch interval {
	case Minute:
		w = time.Minute
	case Hour:
		w = time.Hour
	case Day:
		w = 24 * time.Hour
	default:
		w = 7 * 24 * time.Hour
	}
	return int64(b.Sub(a)/w) + 1
}
