package insights

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// userEvent is a generated event with a user, a session and properties.
type userEvent struct {
	ts                    time.Time
	typ, page, user, sess string
	props                 map[string]any
}

// field is the text a filter or a breakdown compares, independently of the
// code under test.
func (e userEvent) field(f string) string {
	switch f {
	case store.FieldPage:
		return e.page
	case store.FieldSession:
		return e.sess
	}
	v, ok := e.props[f[len(store.PropertyPrefix):]]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// openUserStore is a real SQLite store of n events of 40 users over 10
// days, in no order, some redelivered: sessions (some events without
// one), and properties of several kinds (strings, numbers, booleans,
// null, absent).
func openUserStore(t *testing.T, kind string, n int) (store.Store, []userEvent, time.Time) {
	t.Helper()
	db := openKind(t, kind)
	rng := rand.New(rand.NewPCG(7, 11))
	end := time.Date(2026, 12, 2, 17, 23, 41, 0, time.UTC)
	types := []string{event.TypePageView, event.TypeButtonClick, "signup", "purchase"}
	var evs []userEvent
	var batch []store.Record
	for i := range n {
		u := rng.IntN(40)
		e := userEvent{
			ts:   end.Add(-time.Duration(rng.Int64N(int64(10 * 24 * time.Hour)))),
			typ:  types[rng.IntN(len(types))],
			page: []string{"/", "/pricing", "/cart", ""}[rng.IntN(4)],
			user: fmt.Sprintf("user-%02d", u),
			props: map[string]any{
				"plan": []string{"free", "pro", "team"}[u%3],
			},
		}
		if i%4 == 0 {
			e.ts = end.Add(-time.Duration(rng.Int64N(int64(3 * time.Hour))))
		}
		if rng.IntN(5) > 0 {
			e.sess = fmt.Sprintf("s-%02d-%d", u, rng.IntN(4))
		}
		switch rng.IntN(4) {
		case 0:
			e.props["amount"] = rng.IntN(3) * 10
		case 1:
			e.props["trial"] = rng.IntN(2) == 0
		case 2:
			e.props["country"] = nil
		default:
			e.props["country"] = []string{"FR", "DE", "US"}[rng.IntN(3)]
		}
		evs = append(evs, e)
		id := fmt.Sprintf("gen-%05d", i)
		props, _ := json.Marshal(e.props)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: e.user, SessionID: e.sess, EventType: e.typ, Page: e.page,
				Properties: props, Timestamp: e.ts},
			Message: event.Message{EventID: id, EventType: e.typ, Status: event.StatusCompleted, Source: event.SourceAPI,
				Partition: int32(rng.IntN(3)), QueuedAt: e.ts},
		})
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	for i := 0; i < len(batch); i += 400 {
		if _, err := db.Write(t.Context(), batch[i:min(i+400, len(batch))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Write(t.Context(), batch[:min(300, len(batch))]); err != nil { // redelivered: counted once
		t.Fatal(err)
	}
	return db, evs, end
}

// bruteSeries is, per series key and bucket label, the events or the
// distinct users or sessions q selects over [from, to]; and per key, and
// over all, the distinct ids of the whole range.
func bruteSeries(evs []userEvent, q TrendQuery, from, to time.Time) (cells map[string]map[string]map[string]int, keys map[string]map[string]int) {
	cells, keys = map[string]map[string]map[string]int{}, map[string]map[string]int{}
	for i, e := range evs {
		if e.ts.Before(from) || e.ts.After(to) || (len(q.Types) > 0 && !slices.Contains(q.Types, e.typ)) {
			continue
		}
		ok := true
		for _, f := range q.Filters {
			v := e.field(f.Field)
			switch f.Op {
			case OpEquals:
				ok = ok && v == f.Value
			case OpNotEquals:
				ok = ok && v != f.Value
			case OpContains:
				ok = ok && strings.Contains(v, f.Value)
			case OpIn:
				ok = ok && slices.Contains(f.Values, v)
			case OpIsSet:
				ok = ok && v != ""
			}
		}
		if !ok {
			continue
		}
		id := fmt.Sprint("event-", i)
		switch q.Measure {
		case MeasureUsers:
			id = e.user
		case MeasureSessions:
			if id = e.sess; id == "" {
				continue
			}
		}
		key := ""
		switch {
		case q.Breakdown == "event_type":
			key = e.typ
		case q.Breakdown != "":
			key = e.field(q.Breakdown)
		case len(q.Types) > 0:
			key = e.typ
		}
		if cells[key] == nil {
			cells[key], keys[key] = map[string]map[string]int{}, map[string]int{}
		}
		l := label(e.ts, q.Interval)
		if cells[key][l] == nil {
			cells[key][l] = map[string]int{}
		}
		cells[key][l][id]++
		keys[key][id]++
	}
	return cells, keys
}

// Trends of users and sessions, with filters and breakdowns by a property,
// agree with a brute force over the generated events: each bucket's
// distinct ids, each series' distinct ids over the range (not the sum of
// its buckets), the other series' distinct ids, the total's.
func TestEventTrendsAgreeWithABruteForce(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) { checkEventTrendsAgreeWithABruteForce(t, kind) })
	}
}

func checkEventTrendsAgreeWithABruteForce(t *testing.T, kind string) {
	db, evs, end := openUserStore(t, kind, 3000)
	svc := New(db)
	filterSets := [][]Filter{
		nil,
		{{Field: "properties.plan", Op: OpEquals, Value: "pro"}},
		{{Field: "properties.plan", Op: OpIn, Values: []string{"free", "team"}}, {Field: store.FieldPage, Op: OpNotEquals, Value: ""}},
		{{Field: "properties.amount", Op: OpEquals, Value: "20"}},
		{{Field: "properties.trial", Op: OpEquals, Value: "true"}},
		{{Field: "properties.country", Op: OpIsSet}},
		{{Field: store.FieldPage, Op: OpContains, Value: "ar"}},
	}
	checked := 0
	checkAll(t, svc, evs, end, filterSets, &checked)
	// The same trends once the properties are kept in the rollups: the
	// counts by a property read them (checked below), the rest as before.
	for _, k := range []string{"plan", "country", "amount"} {
		if _, err := db.AddRollupKey(t.Context(), k); err != nil {
			t.Fatalf("AddRollupKey: %v", err)
		}
	}
	for {
		more, err := db.FillRollupKeys(t.Context(), 500)
		if err != nil {
			t.Fatalf("FillRollupKeys: %v", err)
		}
		if !more {
			break
		}
	}
	q := TrendQuery{From: end.Add(-30 * time.Hour), To: end, Interval: Hour, Breakdown: "properties.plan", Limit: 2, Measure: MeasureCount}
	if _, _, err := svc.period(t.Context(), q, q.From, q.To, nil); err != nil {
		t.Fatalf("a kept property's trend does not read the rollups: %v", err)
	}
	checkAll(t, svc, evs, end, filterSets, &checked)
	t.Logf("%d trends checked", checked)
}

func checkAll(t *testing.T, svc *Service, evs []userEvent, end time.Time, filterSets [][]Filter, checked *int) {
	t.Helper()
	for _, interval := range []string{Minute, Hour, Day, Week} {
		span := map[string]time.Duration{Minute: 150 * time.Minute, Hour: 30 * time.Hour, Day: 8 * 24 * time.Hour, Week: 10 * 24 * time.Hour}[interval]
		for _, measure := range Measures {
			for fi, filters := range filterSets {
				for _, breakdown := range []string{"", "event_type", store.FieldPage, "properties.plan", "properties.country", "properties.amount"} {
					types := [][]string{nil, {"signup", event.TypePageView}}[(fi+len(breakdown))%2]
					q := TrendQuery{Types: types, From: end.Add(-span), To: end, Interval: interval, Breakdown: breakdown, Limit: 2,
						Measure: measure, Filters: filters, Compare: true}
					name := fmt.Sprintf("%s/%s/filters %d/%s/%v", interval, measure, fi, breakdown, types)
					tr, err := svc.Trend(t.Context(), q)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if tr.Measure != measure {
						t.Fatalf("%s: measure %q", name, tr.Measure)
					}
					checkEventPeriod(t, name, evs, q, tr.Current)
					checkEventPeriod(t, name+"/previous", evs, q, *tr.Previous)
					*checked++
				}
			}
		}
	}
}

func checkEventPeriod(t *testing.T, name string, evs []userEvent, q TrendQuery, p Period) {
	t.Helper()
	from, to := p.Buckets[0], step(p.Buckets[len(p.Buckets)-1], q.Interval, 1).Add(-time.Nanosecond)
	cells, keys := bruteSeries(evs, q, from, to)
	size := func(ids map[string]int) int64 {
		if q.Measure != MeasureCount {
			return int64(len(ids))
		}
		var n int64
		for _, c := range ids {
			n += int64(c)
		}
		return n
	}
	shown := map[string]bool{}
	all := map[string]int{}
	for _, ids := range keys {
		for id, c := range ids {
			all[id] += c
		}
	}
	if p.Total != size(all) {
		t.Fatalf("%s: total %d, brute force %d", name, p.Total, size(all))
	}
	for _, s := range p.Series {
		if s.Other {
			continue
		}
		shown[s.Key] = true
		got := map[string]int64{}
		for i, n := range s.Counts {
			if n != 0 {
				got[label(p.Buckets[i], q.Interval)] = n
			}
		}
		want := map[string]int64{}
		for l, ids := range cells[s.Key] {
			want[l] = size(ids)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: series %q = %v, brute force %v", name, s.Key, got, want)
		}
		if s.Total != size(keys[s.Key]) {
			t.Fatalf("%s: series %q total %d, brute force %d", name, s.Key, s.Total, size(keys[s.Key]))
		}
	}
	// The rest, as one series: its ids per bucket and over the range.
	restCells, rest := map[string]map[string]int{}, map[string]int{}
	for k, byLabel := range cells {
		if shown[k] {
			continue
		}
		for l, ids := range byLabel {
			if restCells[l] == nil {
				restCells[l] = map[string]int{}
			}
			for id, c := range ids {
				restCells[l][id] += c
				rest[id] += c
			}
		}
	}
	var other *Series
	for i := range p.Series {
		if p.Series[i].Other {
			other = &p.Series[i]
		}
	}
	if q.Breakdown == "" {
		if len(rest) != 0 || other != nil {
			t.Fatalf("%s: series %v missing, other %v", name, rest, other)
		}
		return
	}
	if len(rest) == 0 {
		if other != nil {
			t.Fatalf("%s: other series %+v of nothing", name, other)
		}
		return
	}
	if other == nil || other.Total != size(rest) {
		t.Fatalf("%s: other %+v, brute force total %d", name, other, size(rest))
	}
	for i, n := range other.Counts {
		if want := size(restCells[label(p.Buckets[i], q.Interval)]); n != want {
			t.Fatalf("%s: other in %v = %d, brute force %d", name, p.Buckets[i], n, want)
		}
	}
}

func TestEventTrendsRefuseWhatTheyCannotAnswer(t *testing.T) {
	db, _, end := openUserStore(t, "SQLite", 10)
	svc := New(db)
	for _, q := range []TrendQuery{
		{From: end.Add(-time.Hour), To: end, Interval: Hour, Measure: "revenue"},
		{From: end.Add(-time.Hour), To: end, Interval: Hour, Breakdown: "properties.a.b"},
		{From: end.Add(-time.Hour), To: end, Interval: Hour, Breakdown: "properties."},
		{From: end.Add(-time.Hour), To: end, Interval: Hour, Filters: []Filter{{Field: "user_agent", Op: OpEquals, Value: "x"}}},
		{From: end.Add(-time.Hour), To: end, Interval: Hour, Filters: []Filter{{Field: "page", Op: "starts_with", Value: "/"}}},
		{From: end.Add(-time.Hour), To: end, Interval: Hour, Filters: make([]Filter, MaxFilters+1)},
	} {
		if _, err := svc.Trend(t.Context(), q); err == nil {
			t.Errorf("Trend(%+v) answered, want a refusal", q)
		}
	}
}
