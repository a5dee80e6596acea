package insights

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// genEvent is one generated event, as the brute force sees it.
type genEvent struct {
	ts                         time.Time
	typ, page, element, source string
}

// openStore is a real SQLite store holding n generated events: random
// types, pages, elements and sources over 40 days of event time, in no
// order (late and skewed clients), some written twice.
func openStore(t *testing.T, kind string, n int, seed uint64) (store.Store, []genEvent, time.Time) {
	t.Helper()
	db := openKind(t, kind)
	rng := rand.New(rand.NewPCG(seed, 99))
	end := time.Date(2026, 12, 2, 17, 23, 41, 0, time.UTC)
	types := []string{event.TypePageView, event.TypeButtonClick, "signup", "purchase"}
	pages := []string{"/", "/pricing", "/cart", "/checkout", ""}
	var evs []genEvent
	var batch []store.Record
	for i := range n {
		e := genEvent{
			ts:      end.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))),
			typ:     types[rng.IntN(len(types))],
			page:    pages[rng.IntN(len(pages))],
			element: fmt.Sprintf("el-%d", rng.IntN(12)),
			source:  []string{"", "src_a", "src_b"}[rng.IntN(3)],
		}
		// Recent events are denser, so that minute buckets hold several.
		if i%3 == 0 {
			e.ts = end.Add(-time.Duration(rng.Int64N(int64(3 * time.Hour))))
		}
		evs = append(evs, e)
		id := fmt.Sprintf("gen-%05d", i)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: "u", EventType: e.typ, ElementID: e.element, Page: e.page,
				SourceID: e.source, Timestamp: e.ts},
			Message: event.Message{EventID: id, EventType: e.typ, Status: event.StatusCompleted, Source: event.SourceAPI,
				Partition: int32(rng.IntN(3)), QueuedAt: e.ts},
		})
	}
	for i := 0; i < len(batch); i += 500 {
		j := min(i+500, len(batch))
		if _, err := db.Write(t.Context(), batch[i:j]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Write(t.Context(), batch[:min(200, len(batch))]); err != nil { // redelivered: counted once
		t.Fatal(err)
	}
	return db, evs, end
}

// label names a bucket independently of the code under test.
func label(t time.Time, interval string) string {
	t = t.UTC()
	switch interval {
	case Minute:
		return t.Format("2006-01-02T15:04")
	case Hour:
		return t.Format("2006-01-02T15")
	case Day:
		return t.Format("2006-01-02")
	}
	y, w := t.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// brute counts evs per series key and bucket label for q over [from, to].
func brute(evs []genEvent, q TrendQuery, from, to time.Time) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for _, e := range evs {
		if e.ts.Before(from) || e.ts.After(to) {
			continue
		}
		if len(q.Types) > 0 && !slices.Contains(q.Types, e.typ) {
			continue
		}
		key := ""
		switch q.Breakdown {
		case "":
			if len(q.Types) > 0 {
				key = e.typ
			}
		case "event_type":
			key = e.typ
		case store.DimPage:
			key = e.page
		case store.DimElement:
			key = e.element
		case store.DimSource:
			key = e.source
		}
		if out[key] == nil {
			out[key] = map[string]int64{}
		}
		out[key][label(e.ts, q.Interval)]++
	}
	return out
}

// asMap is a period's series by key and bucket label, the other series
// left out, zeros dropped.
func asMap(p Period, interval string) map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	for _, s := range p.Series {
		if s.Other {
			continue
		}
		for i, n := range s.Counts {
			if n == 0 {
				continue
			}
			if out[s.Key] == nil {
				out[s.Key] = map[string]int64{}
			}
			out[s.Key][label(p.Buckets[i], interval)] += n
		}
	}
	return out
}

// Every trend agrees with a brute-force count of the generated events:
// each interval, each breakdown, some types or all, and the previous
// period; the top-N series are the largest, and the other series holds
// exactly the rest.
func TestTrendAgreesWithABruteForceCount(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) { checkTrendAgreesWithABruteForceCount(t, kind) })
	}
}

func checkTrendAgreesWithABruteForceCount(t *testing.T, kind string) {
	db, evs, end := openStore(t, kind, 6000, 1)
	svc := New(db)
	for _, interval := range []string{Minute, Hour, Day, Week} {
		span := map[string]time.Duration{Minute: 150 * time.Minute, Hour: 30 * time.Hour, Day: 20 * 24 * time.Hour, Week: 35 * 24 * time.Hour}[interval]
		for _, breakdown := range append([]string{""}, Breakdowns...) {
			for _, types := range [][]string{nil, {"signup", event.TypePageView}} {
				q := TrendQuery{Types: types, From: end.Add(-span), To: end, Interval: interval, Breakdown: breakdown, Limit: 3, Compare: true}
				name := fmt.Sprintf("%s/%s/%v", interval, breakdown, types)
				tr, err := svc.Trend(t.Context(), q)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				cur := tr.Current
				from, to := cur.Buckets[0], step(cur.Buckets[len(cur.Buckets)-1], interval, 1).Add(-time.Nanosecond)
				want := brute(evs, q, from, to)
				got := asMap(cur, interval)
				// The shown series are exact; with a breakdown they are the
				// largest, and other holds the rest.
				var all, shown int64
				totals := map[string]int64{}
				for k, m := range want {
					for _, n := range m {
						totals[k] += n
						all += n
					}
				}
				for k, m := range got {
					if !reflect.DeepEqual(m, want[k]) {
						t.Fatalf("%s: series %q = %v, brute force %v", name, k, m, want[k])
					}
					for _, n := range m {
						shown += n
					}
				}
				if cur.Total != all {
					t.Fatalf("%s: total %d, brute force %d", name, cur.Total, all)
				}
				if breakdown != "" {
					var other int64
					for _, s := range cur.Series {
						if s.Other {
							other = s.Total
						} else if len(totals) > 3 && totals[s.Key] < kthLargest(totals, 3) {
							t.Fatalf("%s: %q (%d) shown though not among the 3 largest", name, s.Key, totals[s.Key])
						}
					}
					if shown+other != all {
						t.Fatalf("%s: shown %d + other %d != %d", name, shown, other, all)
					}
				} else if len(got) != len(want) {
					t.Fatalf("%s: series %v, brute force %v", name, got, want)
				}
				// The previous period: as many buckets, ending where this
				// one starts, the same series.
				prev := tr.Previous
				if prev == nil || len(prev.Buckets) != len(cur.Buckets) || !step(prev.Buckets[len(prev.Buckets)-1], interval, 1).Equal(cur.Buckets[0]) {
					t.Fatalf("%s: previous period %+v does not end where %v starts with as many buckets", name, prev, cur.Buckets[0])
				}
				pwant := brute(evs, q, prev.Buckets[0], cur.Buckets[0].Add(-time.Nanosecond))
				for k, m := range asMap(*prev, interval) {
					if !reflect.DeepEqual(m, pwant[k]) {
						t.Fatalf("%s: previous series %q = %v, brute force %v", name, k, m, pwant[k])
					}
				}
			}
		}
	}
}

func kthLargest(totals map[string]int64, k int) int64 {
	vs := slices.Collect(maps.Values(totals))
	slices.Sort(vs)
	return vs[len(vs)-k]
}

func TestTrendRefusesWhatItCannotAnswer(t *testing.T) {
	db, _, end := openStore(t, "SQLite", 10, 2)
	svc := New(db)
	for _, q := range []TrendQuery{
		{From: end.Add(-time.Hour), To: end, Interval: "fortnight"},
		{From: end.Add(-time.Hour), To: end, Interval: Hour, Breakdown: "user_id"},
		{From: end, To: end.Add(-time.Hour), Interval: Hour},
		{From: end.Add(-30 * 24 * time.Hour), To: end, Interval: Minute},
		{From: end.Add(-time.Hour), To: end, Interval: Hour, Limit: 51},
	} {
		if _, err := svc.Trend(t.Context(), q); !errors.Is(err, ErrInvalid) {
			t.Errorf("Trend(%+v) = %v, want ErrInvalid", q, err)
		}
	}
}
