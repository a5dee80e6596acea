package storetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// rollupKey is a RollupCount without its count.
type rollupKey struct {
	bucket           int64
	eventType, value string
}

// bruteRollups counts the stored events as RollupCounts would answer q.
func bruteRollups(t *testing.T, s store.Store, q store.RollupQuery) map[rollupKey]int64 {
	t.Helper()
	evs, err := s.LatestEvents(t.Context(), store.MaxLimit)
	if err != nil {
		t.Fatalf("LatestEvents: %v", err)
	}
	want := map[rollupKey]int64{}
	for _, e := range evs {
		sec := e.Timestamp.Unix()
		b := sec - sec%q.Width
		if b < q.From.Unix() || b >= q.To.Unix() {
			continue
		}
		if len(q.Types) > 0 && !slices.Contains(q.Types, e.EventType) {
			continue
		}
		v := map[string]string{store.DimAll: "", store.DimPage: e.Page, store.DimElement: e.ElementID, store.DimSource: e.SourceID}[q.Dim]
		want[rollupKey{b, e.EventType, v}]++
	}
	return want
}

func rollupCounts(t *testing.T, s store.Store, q store.RollupQuery) map[rollupKey]int64 {
	t.Helper()
	rows, err := s.RollupCounts(t.Context(), q)
	if err != nil {
		t.Fatalf("RollupCounts(%+v): %v", q, err)
	}
	got := map[rollupKey]int64{}
	for _, r := range rows {
		k := rollupKey{r.Bucket, r.EventType, r.Value}
		if _, dup := got[k]; dup {
			t.Fatalf("RollupCounts(%+v): %v answered twice", q, k)
		}
		got[k] = r.Events
	}
	return got
}

// The rollups agree with a count of the rows, at both widths and every
// dimension, for all types or some and any range, after writes with late
// and early event times, redeliveries and retention.
func testRollupsAgreeWithTheRows(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(7, 18))
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	types := []string{event.TypePageView, event.TypeButtonClick, "signup", "purchase"}
	pages := []string{"/", "/pricing", "/cart", ""}
	var batch []store.Record
	for i := range 300 {
		typ := types[rng.IntN(len(types))]
		r := completed(fmt.Sprintf("roll-%03d", i), typ, fmt.Sprintf("el-%d", rng.IntN(3)), event.SourceAPI)
		// Three hours of event time, in no order (late and skewed clients).
		r.Event.Timestamp = start.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
		r.Event.Page = pages[rng.IntN(len(pages))]
		if rng.IntN(2) == 0 {
			r.Event.SourceID = fmt.Sprintf("src_%d", rng.IntN(2))
		}
		r.Message.Partition = int32(rng.IntN(3))
		batch = append(batch, r)
	}
	for i := 0; i < len(batch); i += 50 {
		write(t, s, batch[i:i+50]...)
	}
	write(t, s, batch[100:130]...) // redelivered: counted once

	check := func(step string) {
		t.Helper()
		for _, w := range store.RollupWidths {
			for _, dim := range store.RollupDims {
				for _, q := range []store.RollupQuery{
					{Width: w, Dim: dim, From: start.Add(-time.Hour), To: start.Add(5 * time.Hour)},
					{Width: w, Dim: dim, From: start.Add(time.Hour), To: start.Add(2 * time.Hour), Types: []string{"signup", event.TypePageView}},
					{Width: w, Dim: dim, From: start.Add(90 * time.Minute), To: start.Add(91 * time.Minute)},
				} {
					if got, want := rollupCounts(t, s, q), bruteRollups(t, s, q); !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: RollupCounts(%+v) =\n%v\nthe rows say\n%v", step, q, got, want)
					}
				}
			}
		}
	}
	check("written")
	if _, err := s.Retain(t.Context(), store.Retention{MaxRows: 120}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	check("retained")
}
