package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// testScanWhereKeepsExactlyTheMatches: a scan's Where hands over exactly
// the events of the type and range that match one of its conjunctions, in
// time order: values that read as SQL (quotes, LIKE wildcards, a NUL-free
// backslash), the empty value, case that differs, conjunctions on two
// columns, alternatives that overlap. Checked against a brute force, so
// a store ignoring Where (or any term of it) fails, as does one matching
// loosely.
func testScanWhereKeepsExactlyTheMatches(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(3, 5))
	pages := []string{"/", "/Pricing", "/pricing", "", "/a'b", "/100%", "/a_b", `/x\y`, "/é"}
	elements := []string{"", "buy", "Buy", "b'); DROP TABLE events; --"}
	sessions := []string{"", "s1", "s2"}
	types := []string{event.TypePageView, event.TypeButtonClick}
	type ev struct {
		user, typ, page, element, session string
		ts                                time.Time
	}
	var evs []ev
	var batch []store.Record
	for i := range 600 {
		e := ev{
			user:    fmt.Sprintf("u%d", rng.IntN(30)),
			typ:     types[rng.IntN(len(types))],
			page:    pages[rng.IntN(len(pages))],
			element: elements[rng.IntN(len(elements))],
			session: sessions[rng.IntN(len(sessions))],
			ts:      base.Add(time.Duration(rng.IntN(3600)) * time.Second),
		}
		evs = append(evs, e)
		id := fmt.Sprintf("scan-%d", i)
		m := message(id, e.typ, e.element, event.StatusCompleted, event.SourceProducer)
		m.Offset = int64(i)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: e.user, EventType: e.typ, Page: e.page, ElementID: e.element,
				SessionID: e.session, Timestamp: e.ts},
			Message: m,
		})
	}
	write(t, s, batch...)

	column := func(e ev, f string) string {
		return map[string]string{store.FieldPage: e.page, store.FieldElement: e.element, store.FieldSession: e.session}[f]
	}
	term := func(f string, vs ...string) store.ScanTerm { return store.ScanTerm{Field: f, Values: vs} }
	cases := []struct {
		name  string
		where []store.ScanMatch
	}{
		{"one page", []store.ScanMatch{{term(store.FieldPage, "/pricing")}}},
		{"quote, wildcards, backslash", []store.ScanMatch{{term(store.FieldPage, "/a'b", "/100%", "/a_b", `/x\y`)}}},
		{"the empty value", []store.ScanMatch{{term(store.FieldPage, "")}}},
		{"two columns", []store.ScanMatch{{term(store.FieldPage, "/", "/é"), term(store.FieldElement, "buy")}}},
		{"overlapping alternatives", []store.ScanMatch{
			{term(store.FieldPage, "/")},
			{term(store.FieldPage, "/", "/Pricing"), term(store.FieldSession, "s1")},
			{term(store.FieldElement, "b'); DROP TABLE events; --")},
		}},
		{"nothing matches", []store.ScanMatch{{term(store.FieldPage, "/nowhere")}}},
	}
	from, to := base.Add(10*time.Minute), base.Add(50*time.Minute)
	for _, tc := range cases {
		for _, typ := range types {
			var want []string
			for _, e := range evs {
				if e.typ != typ || e.ts.Before(from) || !e.ts.Before(to) {
					continue
				}
				if slices.ContainsFunc(tc.where, func(m store.ScanMatch) bool {
					for _, tm := range m {
						if !slices.Contains(tm.Values, column(e, tm.Field)) {
							return false
						}
					}
					return true
				}) {
					want = append(want, fmt.Sprintf("%d %s %s|%s|%s", e.ts.UnixMicro(), e.user, e.page, e.element, e.session))
				}
			}
			var got []string
			last := int64(0)
			q := store.ScanQuery{EventType: typ, From: from, To: to, Where: tc.where,
				Fields: []string{store.FieldPage, store.FieldElement, store.FieldSession}}
			err := s.ScanEvents(t.Context(), q, func(r *store.ScanRow) error {
				if r.Micros < last {
					return fmt.Errorf("out of time order: %d after %d", r.Micros, last)
				}
				last = r.Micros
				got = append(got, fmt.Sprintf("%d %s %s", r.Micros, r.UserID, strings.Join(r.Values, "|")))
				return nil
			})
			if err != nil {
				t.Fatalf("%s, %s: %v", tc.name, typ, err)
			}
			// Equal times may come in any order.
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s, %s: %d events, want %d\ngot  %q\nwant %q", tc.name, typ, len(got), len(want), got, want)
			}
		}
	}

	for _, bad := range [][]store.ScanMatch{
		{{term("properties.plan", "pro")}},
		{{term(store.FieldPage)}},
		{{}},
	} {
		err := s.ScanEvents(t.Context(), store.ScanQuery{EventType: types[0], From: from, To: to, Where: bad},
			func(*store.ScanRow) error { return nil })
		if err == nil {
			t.Fatalf("Where %+v: no error", bad)
		}
	}
}
