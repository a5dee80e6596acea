package storetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/store"
)

// funnelEvent is a generated event as the brute force sees it.
type funnelEvent struct {
	user, typ, page string
	props           map[string]any
	ts              time.Time
}

// field is the text a filter or a breakdown compares, computed here
// independently of the store.
func (e funnelEvent) field(f string) string {
	if k, ok := strings.CutPrefix(f, store.PropertyPrefix); ok {
		switch v := e.props[k].(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			b, _ := json.Marshal(v)
			return string(b)
		}
	}
	if f == store.FieldPage {
		return e.page
	}
	return ""
}

func (e funnelEvent) matches(st insights.FunnelStep) bool {
	if e.typ != st.EventType {
		return false
	}
	for _, f := range st.Filters {
		v := e.field(f.Field)
		var ok bool
		switch f.Op {
		case insights.OpEquals:
			ok = v == f.Value
		case insights.OpNotEquals:
			ok = v != f.Value
		case insights.OpContains:
			ok = strings.Contains(v, f.Value)
		case insights.OpIn:
			ok = slices.Contains(f.Values, v)
		case insights.OpIsSet:
			ok = v != ""
		}
		if !ok {
			return false
		}
	}
	return true
}

// testFunnelAgreesWithABruteForce stores generated journeys (random users,
// types, pages and properties, written out of time order, some twice) and
// compares random funnels with a brute force: for every user and every
// first step in the range, the earliest matching event of each next step
// within the window; the user's answer is the start that gets furthest,
// soonest.
func testFunnelAgreesWithABruteForce(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(7, 11))
	start := base.Truncate(time.Hour)
	span := 10 * 24 * time.Hour
	types := []string{"landing", "signup", "purchase", "noise"}
	pages := []string{"/", "/pricing", "/blog/a", ""}
	plans := []any{"free", "pro", "team", nil, 42, true}
	var evs []funnelEvent
	var batch []store.Record
	for i := range 1500 {
		// Distinct microseconds, so that the order of events is not a
		// matter of ties.
		e := funnelEvent{
			user: fmt.Sprintf("u%02d", rng.IntN(80)),
			typ:  types[rng.IntN(len(types))],
			page: pages[rng.IntN(len(pages))],
			ts:   start.Add(time.Duration(rng.Int64N(int64(span))).Truncate(time.Millisecond) + time.Duration(i)*time.Microsecond/2),
		}
		e.props = map[string]any{"n": rng.IntN(3)}
		if p := plans[rng.IntN(len(plans))]; p != nil {
			e.props["plan"] = p
		}
		props, _ := json.Marshal(e.props)
		evs = append(evs, e)
		id := fmt.Sprintf("funnel-%05d", i)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: e.user, EventType: e.typ, Page: e.page, Timestamp: e.ts, Properties: props},
			Message: event.Message{EventID: id, EventType: e.typ, Status: event.StatusCompleted, Source: event.SourceAPI,
				Partition: int32(i % 3), QueuedAt: e.ts},
		})
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	for i := 0; i < len(batch); i += 300 {
		write(t, s, batch[i:min(i+300, len(batch))]...)
	}
	write(t, s, batch[:100]...) // redelivered: counted once

	svc := insights.New(s)
	filters := []insights.Filter{
		{Field: store.FieldPage, Op: insights.OpEquals, Value: "/pricing"},
		{Field: store.FieldPage, Op: insights.OpNotEquals, Value: ""},
		{Field: store.FieldPage, Op: insights.OpContains, Value: "blog"},
		{Field: "properties.plan", Op: insights.OpIn, Values: []string{"pro", "team", "42"}},
		{Field: "properties.plan", Op: insights.OpIsSet},
		{Field: "properties.plan", Op: insights.OpEquals, Value: "true"},
		{Field: "properties.n", Op: insights.OpEquals, Value: "1"},
	}
	for round := range 40 {
		q := insights.FunnelQuery{
			From:   start.Add(time.Duration(rng.Int64N(int64(span / 2)))),
			Window: []time.Duration{10 * time.Minute, 6 * time.Hour, 2 * 24 * time.Hour, 20 * 24 * time.Hour}[rng.IntN(4)],
			Limit:  2,
		}
		q.To = q.From.Add(time.Duration(1 + rng.Int64N(int64(span)))).Truncate(time.Second)
		for range 2 + rng.IntN(3) {
			st := insights.FunnelStep{EventType: types[rng.IntN(3)]}
			if rng.IntN(2) == 0 {
				st.Filters = []insights.Filter{filters[rng.IntN(len(filters))]}
			}
			q.Steps = append(q.Steps, st)
		}
		if round%3 == 0 {
			q.Breakdown = []string{"properties.plan", store.FieldPage}[rng.IntN(2)]
		}
		got, err := svc.Funnel(t.Context(), q)
		if err != nil {
			t.Fatalf("round %d: Funnel: %v", round, err)
		}
		want := bruteFunnel(evs, q)
		if g := funnelSummary(got); !reflect.DeepEqual(g, want) {
			t.Fatalf("round %d: %+v\ngot  %+v\nwant %+v", round, q, g, want)
		}
	}
}

// funnelAnswer is what the brute force checks of a funnel.
type funnelAnswer struct {
	Counts    []int64
	Dropped   [][]string
	Medians   []string
	Breakdown map[string][]int64
}

func funnelSummary(f insights.Funnel) funnelAnswer {
	var a funnelAnswer
	for _, st := range f.Steps {
		a.Counts = append(a.Counts, st.Count)
		a.Dropped = append(a.Dropped, st.DroppedUsers)
		m := "-"
		if st.MedianSeconds != nil {
			m = fmt.Sprintf("%.3f", *st.MedianSeconds)
		}
		a.Medians = append(a.Medians, m)
	}
	if f.Breakdown != nil {
		a.Breakdown = map[string][]int64{}
		for _, b := range f.Breakdown {
			for _, st := range b.Steps {
				a.Breakdown[b.Value] = append(a.Breakdown[b.Value], st.Count)
			}
		}
	}
	return a
}

func bruteFunnel(evs []funnelEvent, q insights.FunnelQuery) funnelAnswer {
	byUser := map[string][]funnelEvent{}
	for _, e := range evs {
		byUser[e.user] = append(byUser[e.user], e)
	}
	k := len(q.Steps)
	a := funnelAnswer{Counts: make([]int64, k), Dropped: make([][]string, k)}
	waits := make([][]time.Duration, k)
	values := map[string][]int64{}
	for user, es := range byUser {
		slices.SortFunc(es, func(x, y funnelEvent) int { return x.ts.Compare(y.ts) })
		// The best path: deepest, then reaching it soonest, then the
		// latest start.
		var best []int
		for s, e := range es {
			if e.ts.Before(q.From) || !e.ts.Before(q.To) || !e.matches(q.Steps[0]) {
				continue
			}
			path := []int{s}
			for j := 1; j < k; j++ {
				next := -1
				for i := path[j-1] + 1; i < len(es); i++ {
					if es[i].ts.Sub(e.ts) > q.Window {
						break
					}
					if es[i].matches(q.Steps[j]) {
						next = i
						break
					}
				}
				if next < 0 {
					break
				}
				path = append(path, next)
			}
			if best == nil || len(path) > len(best) ||
				len(path) == len(best) && !es[path[len(path)-1]].ts.After(es[best[len(best)-1]].ts) {
				best = path
			}
		}
		if best == nil {
			continue
		}
		for j := range best {
			a.Counts[j]++
			if j > 0 {
				waits[j] = append(waits[j], es[best[j]].ts.Sub(es[best[j-1]].ts))
			}
		}
		if len(best) < k {
			a.Dropped[len(best)] = append(a.Dropped[len(best)], user)
		}
		if q.Breakdown != "" {
			v := es[best[0]].field(q.Breakdown)
			if values[v] == nil {
				values[v] = make([]int64, k)
			}
			for j := range best {
				values[v][j]++
			}
		}
	}
	for j := range k {
		slices.Sort(a.Dropped[j])
		a.Dropped[j] = append([]string{}, a.Dropped[j][:min(len(a.Dropped[j]), insights.DroppedUsersLimit)]...)
		m := "-"
		if w := waits[j]; len(w) > 0 {
			slices.Sort(w)
			med := w[len(w)/2].Seconds()
			if len(w)%2 == 0 {
				med = (w[len(w)/2-1].Seconds() + w[len(w)/2].Seconds()) / 2
			}
			m = fmt.Sprintf("%.3f", med)
		}
		a.Medians = append(a.Medians, m)
	}
	if q.Breakdown != "" {
		a.Breakdown = map[string][]int64{}
		keys := make([]string, 0, len(values))
		for v := range values {
			keys = append(keys, v)
		}
		slices.SortFunc(keys, func(x, y string) int { return cmp.Or(cmp.Compare(values[y][0], values[x][0]), cmp.Compare(x, y)) })
		for i, v := range keys {
			key := v
			if i >= q.Limit {
				key = insights.OtherKey
			}
			if a.Breakdown[key] == nil {
				a.Breakdown[key] = make([]int64, k)
			}
			for j, n := range values[v] {
				a.Breakdown[key][j] += n
			}
		}
	}
	return a
}
