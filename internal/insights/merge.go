package insights

import (
	"context"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pulse-dev/pulse/internal/store"
)

// stepMatch is an event that matches one or more steps (bit j of mask for
// step j), with the breakdown value when it matches the first.
type stepMatch struct {
	user   string
	micros int64
	mask   uint16
	value  string
}

// scanChunk is how many matches a scan hands the merge at a time.
const scanChunk = 1024

// typeScan is the scan of one event type and the steps it can match.
type typeScan struct {
	eventType string
	cols      columns
	// steps are the steps of this type, each with its filters' columns.
	steps []typeStep
	// valueCol is the breakdown's column, or -1.
	valueCol int
	matches  chan []stepMatch
}

type typeStep struct {
	step    int
	filters []Filter
	cols    []int
}

// mergeSteps scans the events of q's step types from From to Window after
// To (the first step's type alone, when no later step has it, to To), one
// scan per type at once, and hands fn the events that match a
// step in time order (at equal times, the type of the earlier step first).
func (s *Service) mergeSteps(ctx context.Context, q FunnelQuery, fn func(stepMatch)) error {
	scans := planScans(q)
	g, ctx := errgroup.WithContext(ctx)
	for _, sc := range scans {
		// A user enters only with a first step in [From, To): a type
		// that is no later step needs no event of the window after To
		// (a page_view landing is most of a funnel's events).
		to := q.To.Add(q.Window)
		if len(sc.steps) == 1 && sc.steps[0].step == 0 {
			to = q.To
		}
		g.Go(func() error { return s.scanType(ctx, q.From, to, sc) })
	}
	g.Go(func() error {
		heads := make([][]stepMatch, len(scans))
		open := len(scans)
		next := func(i int) {
			for len(heads[i]) == 0 && scans[i].matches != nil {
				chunk, ok := <-scans[i].matches
				if !ok {
					scans[i].matches = nil
					open--
					return
				}
				heads[i] = chunk
			}
		}
		for i := range scans {
			next(i)
		}
		for open > 0 || slices.ContainsFunc(heads, func(h []stepMatch) bool { return len(h) > 0 }) {
			first := -1
			for i, h := range heads {
				if len(h) > 0 && (first < 0 || h[0].micros < heads[first][0].micros) {
					first = i
				}
			}
			if first < 0 {
				break
			}
			fn(heads[first][0])
			heads[first] = heads[first][1:]
			next(first)
		}
		// A scan that failed closed its channel early: its error, not a
		// partial answer.
		return ctx.Err()
	})
	return g.Wait()
}

// planScans groups q's steps by event type, in the order of each type's
// first step.
func planScans(q FunnelQuery) []*typeScan {
	var scans []*typeScan
	byType := map[string]*typeScan{}
	for j, st := range q.Steps {
		sc := byType[st.EventType]
		if sc == nil {
			sc = &typeScan{eventType: st.EventType, valueCol: -1, matches: make(chan []stepMatch, 4)}
			byType[st.EventType] = sc
			scans = append(scans, sc)
		}
		ts := typeStep{step: j, filters: st.Filters}
		for _, f := range st.Filters {
			ts.cols = append(ts.cols, sc.cols.add(f.Field))
		}
		if j == 0 && q.Breakdown != "" {
			sc.valueCol = sc.cols.add(q.Breakdown)
		}
		sc.steps = append(sc.steps, ts)
	}
	return scans
}

// scanType reads one type's events and sends those matching a step.
func (s *Service) scanType(ctx context.Context, from, to time.Time, sc *typeScan) error {
	defer close(sc.matches)
	chunk := make([]stepMatch, 0, scanChunk)
	sets := make([][]Filter, len(sc.steps))
	for i, st := range sc.steps {
		sets[i] = st.filters
	}
	err := s.store.ScanEvents(ctx, store.ScanQuery{EventType: sc.eventType, From: from, To: to, Fields: sc.cols.fields, Where: scanWhere(sets)},
		func(r *store.ScanRow) error {
			var mask uint16
			for _, st := range sc.steps {
				if matchAll(st, r.Values) {
					mask |= 1 << st.step
				}
			}
			if mask == 0 {
				return nil
			}
			m := stepMatch{user: r.UserID, micros: r.Micros, mask: mask}
			if mask&1 != 0 && sc.valueCol >= 0 {
				m.value = r.Values[sc.valueCol]
			}
			chunk = append(chunk, m)
			if len(chunk) == scanChunk {
				select {
				case sc.matches <- chunk:
				case <-ctx.Done():
					return ctx.Err()
				}
				chunk = make([]stepMatch, 0, scanChunk)
			}
			return nil
		})
	if err != nil {
		return err
	}
	if len(chunk) > 0 {
		select {
		case sc.matches <- chunk:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func matchAll(st typeStep, values []string) bool {
	for i, f := range st.filters {
		if !f.match(values[st.cols[i]]) {
			return false
		}
	}
	return true
}
