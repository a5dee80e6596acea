package storetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/store"
)

// retentionEvent is a generated event as the brute force sees it.
type retentionEvent struct {
	user, typ string
	ts        time.Time
}

// testRetentionAgreesWithABruteForce stores generated visits (users on
// several partitions, out of time order, some redelivered, then late
// events that move some users' first seen earlier) and compares cohort
// tables by day and by week, on any event and on one type, with a brute
// force over the events: first seen is each user's earliest event ever
// stored, activity is the events still stored. Then retention deletes
// the oldest rows and the tables are compared again: the first seen
// stays, the activity follows the rows.
func testRetentionAgreesWithABruteForce(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(3, 14))
	// A Thursday, so that the weeks (from Monday) do not start with the
	// data.
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	span := 40 * 24 * time.Hour
	types := []string{"landing", "signup", "noise"}
	var all []retentionEvent
	var batch []store.Record
	add := func(e retentionEvent) {
		i := len(all)
		all = append(all, e)
		id := fmt.Sprintf("ret-%05d", i)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: e.user, EventType: e.typ, Timestamp: e.ts},
			Message: event.Message{EventID: id, EventType: e.typ, Status: event.StatusCompleted, Source: event.SourceAPI,
				Partition: int32(rng.IntN(3)), QueuedAt: e.ts},
		})
	}
	for range 900 {
		// Users arrive over the span and come back less as time passes.
		u := rng.IntN(90)
		arrive := time.Duration(u) * span / 100
		back := time.Duration(rng.ExpFloat64() * float64(5*24*time.Hour))
		ts := start.Add(arrive + back).Add(time.Duration(rng.Int64N(int64(time.Hour))))
		add(retentionEvent{user: fmt.Sprintf("u%02d", u), typ: types[rng.IntN(len(types))], ts: ts})
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	for i := 0; i < len(batch); i += 200 {
		write(t, s, batch[i:min(i+200, len(batch))]...)
	}
	write(t, s, batch[:50]...) // redelivered: counted once

	// Late events: some users turn out to have come days earlier.
	batch = nil
	for u := 0; u < 90; u += 7 {
		add(retentionEvent{user: fmt.Sprintf("u%02d", u), typ: "noise",
			ts: start.Add(time.Duration(u)*span/100 - time.Duration(1+rng.IntN(6))*24*time.Hour)})
	}
	write(t, s, batch...)

	svc := insights.New(s)
	check := func(step string) {
		t.Helper()
		stored, err := s.LatestEvents(t.Context(), store.MaxLimit)
		if err != nil {
			t.Fatalf("LatestEvents: %v", err)
		}
		for round := range 24 {
			q := insights.RetentionQuery{
				Period: []string{insights.Day, insights.Week}[round%2],
				From:   start.Add(time.Duration(rng.Int64N(int64(span/2))) - 3*24*time.Hour),
			}
			q.To = q.From.Add(time.Duration(1 + rng.Int64N(int64(span/2))))
			// Now is sometimes inside the range (the triangle is cut
			// short), sometimes before it (no period has started).
			q.Now = q.From.Add(time.Duration(rng.Int64N(int64(span))) - 2*24*time.Hour)
			if round%3 == 0 {
				q.ReturnEvent = "signup"
			}
			got, err := svc.Retention(t.Context(), q)
			if err != nil {
				t.Fatalf("%s: Retention(%+v): %v", step, q, err)
			}
			if want := bruteRetention(all, stored, q); !reflect.DeepEqual(got.Cohorts, want) {
				t.Fatalf("%s, round %d: Retention(%+v) =\n%+v\nthe events say\n%+v", step, round, q, got.Cohorts, want)
			}
		}
		// Longer than a span of the activity (store.ActiveDaysSpan) and
		// than a word of periods: 90 days of activity, from before the
		// first event to after the last.
		for _, period := range []string{insights.Day, insights.Week} {
			q := insights.RetentionQuery{Period: period, From: start.Add(-20 * 24 * time.Hour), To: start.Add(span),
				Now: start.Add(span + 30*24*time.Hour)}
			got, err := svc.Retention(t.Context(), q)
			if err != nil {
				t.Fatalf("%s: Retention(%+v): %v", step, q, err)
			}
			if want := bruteRetention(all, stored, q); !reflect.DeepEqual(got.Cohorts, want) {
				t.Fatalf("%s, by %s over 90 days: Retention(%+v) =\n%+v\nthe events say\n%+v", step, period, q, got.Cohorts, want)
			}
		}
	}
	check("written")
	if _, err := s.Retain(t.Context(), store.Retention{MaxRows: 400}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	check("retained")
}

// bruteRetention computes the cohort table from the events, apart from
// the insights' own period arithmetic.
func bruteRetention(all []retentionEvent, stored []event.Stored, q insights.RetentionQuery) []insights.Cohort {
	periodOf := func(t time.Time) time.Time {
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		if q.Period == insights.Week {
			for d.Weekday() != time.Monday {
				d = d.AddDate(0, 0, -1)
			}
		}
		return d
	}
	next := func(t time.Time) time.Time {
		if q.Period == insights.Week {
			return t.AddDate(0, 0, 7)
		}
		return t.AddDate(0, 0, 1)
	}
	var cohorts []insights.Cohort
	index := map[time.Time]int{}
	for p := periodOf(q.From); !p.After(q.To); p = next(p) {
		index[p] = len(cohorts)
		cohorts = append(cohorts, insights.Cohort{Start: p})
	}
	periods := 0
	for p := cohorts[0].Start; !p.After(q.Now); p = next(p) {
		periods++
	}
	for c := range cohorts {
		cohorts[c].Returned = make([]int64, max(0, periods-c))
	}

	first := map[string]time.Time{}
	for _, e := range all {
		if f, ok := first[e.user]; !ok || e.ts.Before(f) {
			first[e.user] = e.ts
		}
	}
	cohortOf := map[string]int{}
	for u, f := range first {
		if c, ok := index[periodOf(f)]; ok {
			cohortOf[u] = c
			cohorts[c].Users++
		}
	}
	seen := map[string]bool{}
	for _, e := range stored {
		c, ok := cohortOf[e.UserID]
		if !ok || (q.ReturnEvent != "" && e.EventType != q.ReturnEvent) {
			continue
		}
		k := 0
		for p := cohorts[c].Start; p.Before(periodOf(e.Timestamp)); p = next(p) {
			k++
		}
		if periodOf(e.Timestamp).Before(cohorts[c].Start) || k >= len(cohorts[c].Returned) {
			continue
		}
		if key := fmt.Sprintf("%s/%d", e.UserID, k); !seen[key] {
			seen[key] = true
			cohorts[c].Returned[k]++
		}
	}
	return cohorts
}
