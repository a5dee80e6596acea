package insights

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// What a trend counts. The rollups hold counts of events by a few fields;
// unique users and sessions, filters and a breakdown by a property are
// answered from the events of the range instead (readsEvents).
const (
	MeasureCount    = "count"
	MeasureUsers    = "users"
	MeasureSessions = "sessions"
)

// Measures are the measures a trend can count.
var Measures = []string{MeasureCount, MeasureUsers, MeasureSessions}

// readsEvents reports whether q is answered from the events of its range,
// not from the rollups: the rollups count events by type, page, element,
// source and the property keys kept, and nothing finer.
func (q TrendQuery) readsEvents() bool {
	return q.Measure != MeasureCount || len(q.Filters) > 0
}

// byProperty reports whether q breaks events down by a property: the
// rollups answer it when the key is kept (store.RollupKeys), the events
// otherwise.
func (q TrendQuery) byProperty() bool {
	return strings.HasPrefix(q.Breakdown, store.PropertyPrefix)
}

// propertyPeriod answers one range of a breakdown by a property from the
// key's rollups, or from the events when the rollups cannot (the key is
// not kept or not yet filled, or the range holds a value too long to
// keep). The two agree on every count (storetest).
func (s *Service) propertyPeriod(ctx context.Context, q TrendQuery, from, to time.Time, keys []string) (Period, []string, error) {
	p, keys2, err := s.period(ctx, q, from, to, keys)
	if errors.Is(err, store.ErrNoRollup) {
		return s.eventPeriod(ctx, q, from, to, keys)
	}
	return p, keys2, err
}

// eventPeriod answers one range of q from its events, read type by type
// through the (event_type, timestamp) index. Unique measures count each
// user (or non-empty session id) once per bucket, once per series over the
// range, and once in the total.
func (s *Service) eventPeriod(ctx context.Context, q TrendQuery, from, to time.Time, keys []string) (Period, []string, error) {
	buckets := bucketStarts(from, to, q.Interval)
	end := step(buckets[len(buckets)-1], q.Interval, 1)
	types, err := s.typesIn(ctx, q, buckets[0], end)
	if err != nil {
		return Period{}, nil, err
	}
	var cols columns
	filterCols := make([]int, len(q.Filters))
	for i, f := range q.Filters {
		filterCols[i] = cols.add(f.Field)
	}
	valueCol, sessionCol := -1, -1
	if q.Breakdown != "" && q.Breakdown != "event_type" {
		valueCol = cols.add(q.Breakdown)
	}
	if q.Measure == MeasureSessions {
		sessionCol = cols.add(store.FieldSession)
	}
	index := make(map[time.Time]int, len(buckets))
	for i, b := range buckets {
		index[b] = i
	}
	tally := newTally(len(buckets), q.Measure != MeasureCount)
	where := scanWhere([][]Filter{q.Filters})
	for _, typ := range types {
		err := s.store.ScanEvents(ctx, store.ScanQuery{EventType: typ, From: buckets[0], To: end, Fields: cols.fields, Where: where},
			func(r *store.ScanRow) error {
				for i, f := range q.Filters {
					if !f.match(r.Values[filterCols[i]]) {
						return nil
					}
				}
				id := r.UserID
				if sessionCol >= 0 {
					id = r.Values[sessionCol]
				}
				if q.Measure != MeasureCount && id == "" {
					return nil // an event of no session counts in no session
				}
				i, ok := index[truncate(time.UnixMicro(r.Micros), q.Interval)]
				if !ok {
					return nil
				}
				key := ""
				switch {
				case valueCol >= 0:
					key = r.Values[valueCol]
				case q.Breakdown == "event_type" || len(q.Types) > 0:
					key = typ
				}
				tally.add(key, i, id)
				return nil
			})
		if err != nil {
			return Period{}, nil, fmt.Errorf("read the events of %q: %w", typ, err)
		}
	}
	totals := tally.totals()
	if keys == nil {
		keys = chooseKeys(q, totals)
	}
	p := Period{From: from, To: to, Buckets: buckets, Series: make([]Series, 0, len(keys)+1), Total: tally.total()}
	for _, k := range keys {
		p.Series = append(p.Series, Series{Key: k, Total: totals[k], Counts: tally.counts(k)})
	}
	if q.Breakdown != "" {
		if other := tally.rest(keys); other.Total != 0 {
			p.Series = append(p.Series, other)
		}
	}
	return p, keys, nil
}

// typesIn are the event types a trend reads: those asked for, or every
// type with events in [from, end) as the rollups know them.
func (s *Service) typesIn(ctx context.Context, q TrendQuery, from, end time.Time) ([]string, error) {
	if len(q.Types) > 0 {
		var types []string
		for _, t := range q.Types {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
		return types, nil
	}
	width := store.RollupHour
	if q.Interval == Minute {
		width = store.RollupMinute
	}
	rows, err := s.store.RollupCounts(ctx, store.RollupQuery{Width: width, Dim: store.DimAll, From: from, To: end})
	if err != nil {
		return nil, fmt.Errorf("read the rollups: %w", err)
	}
	var types []string
	for _, r := range rows {
		if !slices.Contains(types, r.EventType) {
			types = append(types, r.EventType)
		}
	}
	slices.Sort(types)
	return types, nil
}

// tally counts events, or distinct ids, per series key and bucket.
type tally struct {
	buckets int
	unique  bool
	// With counts: n[key][bucket]. With unique ids: the ids (interned)
	// seen per key and bucket.
	n   map[string][]int64
	ids map[string][]map[int32]struct{}
	// intern numbers each id once, so that the sets hold small keys.
	intern map[string]int32
}

func newTally(buckets int, unique bool) *tally {
	return &tally{buckets: buckets, unique: unique, n: map[string][]int64{},
		ids: map[string][]map[int32]struct{}{}, intern: map[string]int32{}}
}

func (t *tally) add(key string, bucket int, id string) {
	if !t.unique {
		c := t.n[key]
		if c == nil {
			c = make([]int64, t.buckets)
			t.n[key] = c
		}
		c[bucket]++
		return
	}
	n, ok := t.intern[id]
	if !ok {
		n = int32(len(t.intern))
		t.intern[id] = n
	}
	sets := t.ids[key]
	if sets == nil {
		sets = make([]map[int32]struct{}, t.buckets)
		t.ids[key] = sets
	}
	if sets[bucket] == nil {
		sets[bucket] = map[int32]struct{}{}
	}
	sets[bucket][n] = struct{}{}
}

// counts is a series' count per bucket.
func (t *tally) counts(key string) []int64 {
	out := make([]int64, t.buckets)
	if !t.unique {
		copy(out, t.n[key])
		return out
	}
	for i, s := range t.ids[key] {
		out[i] = int64(len(s))
	}
	return out
}

// totals is each series' total over the range: a sum of counts, or the
// ids seen in any of its buckets.
func (t *tally) totals() map[string]int64 {
	out := map[string]int64{}
	if !t.unique {
		for k, c := range t.n {
			for _, n := range c {
				out[k] += n
			}
		}
		return out
	}
	for k, sets := range t.ids {
		out[k] = int64(len(union(sets)))
	}
	return out
}

// total counts every event once, or every id once over all series.
func (t *tally) total() int64 {
	if !t.unique {
		var sum int64
		for _, n := range t.totals() {
			sum += n
		}
		return sum
	}
	all := map[int32]struct{}{}
	for _, sets := range t.ids {
		for _, s := range sets {
			for id := range s {
				all[id] = struct{}{}
			}
		}
	}
	return int64(len(all))
}

// rest is the series of the keys not shown: per bucket, the sum of their
// counts or the ids seen in any of them.
func (t *tally) rest(shown []string) Series {
	other := Series{Key: OtherKey, Other: true, Counts: make([]int64, t.buckets)}
	if !t.unique {
		for k, c := range t.n {
			if slices.Contains(shown, k) {
				continue
			}
			for i, n := range c {
				other.Counts[i] += n
				other.Total += n
			}
		}
		return other
	}
	merged := make([]map[int32]struct{}, t.buckets)
	for k, sets := range t.ids {
		if slices.Contains(shown, k) {
			continue
		}
		for i, s := range sets {
			if len(s) == 0 {
				continue
			}
			if merged[i] == nil {
				merged[i] = map[int32]struct{}{}
			}
			for id := range s {
				merged[i][id] = struct{}{}
			}
		}
	}
	for i, s := range merged {
		other.Counts[i] = int64(len(s))
	}
	other.Total = int64(len(union(merged)))
	return other
}

func union(sets []map[int32]struct{}) map[int32]struct{} {
	out := map[int32]struct{}{}
	for _, s := range sets {
		for id := range s {
			out[id] = struct{}{}
		}
	}
	return out
}
