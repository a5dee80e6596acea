package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// sourceCursors reads the cursors of the sources' own retention; both
// stores have it, for this suite and for diagnosis.
type sourceCursors interface {
	SourceRetentionCursors(ctx context.Context) (map[string]int64, error)
}

// The sources of the source retention test: A and B have their own
// retention, C none, and some events have no source.
var retainedSources = []string{"src-a", "src-b", "src-c", ""}

// sourceRecords returns the records of a phase: n per source of
// retainedSources, interleaved, of several users, types, pages, times
// and plans.
func sourceRecords(phase, n int) []store.Record {
	types := []string{event.TypePageView, event.TypeButtonClick, "purchase"}
	pages := []string{"/", "/pricing", "/cart"}
	var out []store.Record
	for k := range n {
		for j, src := range retainedSources {
			i := k*len(retainedSources) + j
			id := fmt.Sprintf("sr%d-%s-%03d", phase, src, k)
			typ := types[i%len(types)]
			ts := base.Add(time.Duration(phase)*9*time.Hour + time.Duration(i)*13*time.Minute)
			e := &event.Event{EventID: id, UserID: fmt.Sprintf("sr-user-%d", i%5), EventType: typ,
				ElementID: fmt.Sprintf("btn-%d", i%2), SessionID: fmt.Sprintf("sr-s%d", i%7), Page: pages[i%len(pages)],
				SourceID: src, Timestamp: ts,
				Properties: json.RawMessage(fmt.Sprintf(`{"plan":%q}`, []string{"free", "pro", "team"}[i%3]))}
			m := message(id, typ, e.ElementID, event.StatusCompleted, event.SourceCollect)
			m.UserID, m.Partition, m.Offset, m.QueuedAt = e.UserID, int32(i%3), int64(i), ts
			out = append(out, store.Record{Event: e, Message: m})
		}
	}
	return out
}

// testSourceRetention stores phases of events of two sources with their
// own retention, one without and events without a source, a clock mark
// between phases, and applies each source's retention in passes. After
// each pass only the old events of the sources named are gone; the
// totals, rollups (property ones too) agree with a count of the rows
// left, and every read path agrees with a store that only ever had the
// rows left (and every processing-log row: those have no source, and
// stay). The cursor of a source ends where its pass ended; a second pass
// with nothing new deletes nothing and leaves it there, and events of a
// source stored after its cursor moved are judged at the next pass.
func testSourceRetention(t *testing.T, s store.Store, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	cursors, ok := s.(sourceCursors)
	if !ok {
		t.Fatalf("%T has no SourceRetentionCursors", s)
	}
	if _, err := s.AddRollupKey(ctx, "plan"); err != nil {
		t.Fatalf("AddRollupKey: %v", err)
	}
	var (
		phases [][]store.Record
		marks  []time.Time
		// retained is how many phases the server-wide retention deleted.
		retained int
	)
	// writePhase writes the next phase, then marks a time after every
	// row of it and before any row written later (created_at is kept to
	// the microsecond).
	writePhase := func() {
		t.Helper()
		recs := sourceRecords(len(phases), 6)
		writeIn(t, s, recs)
		phases = append(phases, recs)
		mark := time.Now().Add(time.Microsecond).Truncate(time.Microsecond).Add(time.Microsecond)
		for !time.Now().After(mark) {
			runtime.Gosched() // the mark is at most 2 µs away
		}
		marks = append(marks, mark)
	}
	gone := map[string]bool{}
	// pass applies the sources' retention and notes what should go: the
	// events of each source named from the phases before its mark.
	pass := func(step string, before map[string]int) {
		t.Helper()
		cut := map[string]time.Time{}
		var want int64
		for src, phase := range before {
			cut[src] = marks[phase]
			for p := 0; p <= phase; p++ {
				for _, r := range phases[p] {
					if r.Event.SourceID == src && !gone[r.Event.EventID] {
						gone[r.Event.EventID] = true
						want++
					}
				}
			}
		}
		n, err := s.RetainSources(ctx, cut)
		if err != nil || n != want {
			t.Fatalf("%s: RetainSources = %d, %v; want %d deleted", step, n, err, want)
		}
	}
	// check compares s with the rows that should be left, and the cursor
	// of each source named with the first id of the phase after its mark.
	check := func(step string, at map[string]int) {
		t.Helper()
		stored := latest(t, s, store.MaxLimit)
		left := map[string]bool{}
		firstOf := make([]int64, len(phases))
		for _, e := range stored {
			left[e.EventID] = true
			var p int
			if _, err := fmt.Sscanf(e.EventID, "sr%d-", &p); err != nil {
				t.Fatalf("event id %q: %v", e.EventID, err)
			}
			if firstOf[p] == 0 || e.ID < firstOf[p] {
				firstOf[p] = e.ID
			}
		}
		for _, recs := range phases[retained:] {
			for _, r := range recs {
				if left[r.Event.EventID] == gone[r.Event.EventID] {
					t.Errorf("%s: event %s stored %t, gone %t", step, r.Event.EventID, left[r.Event.EventID], gone[r.Event.EventID])
				}
			}
		}
		got, err := s.Totals(ctx, base.AddDate(1, 0, 0))
		if err != nil {
			t.Fatalf("%s: Totals: %v", step, err)
		}
		if want := bruteTotals(t, s); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Totals =\n%+v\nthe rows say\n%+v", step, got, want)
		}
		for _, w := range store.RollupWidths {
			q := store.RollupQuery{Width: w, Dim: store.DimSource, From: base.Add(-24 * time.Hour), To: base.Add(72 * time.Hour)}
			if got, want := rollupCounts(t, s, q), bruteRollups(t, s, q); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: rollups by source of width %d =\n%v\nthe rows say\n%v", step, w, got, want)
			}
			q.Dim = store.PropertyPrefix + "plan"
			types := []string{event.TypePageView, event.TypeButtonClick, "purchase"}
			if got, want := rollupCounts(t, s, q), bruteProperties(t, s, "plan", q, types); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: rollups by plan of width %d =\n%v\nthe events say\n%v", step, w, got, want)
			}
		}

		// A store that only ever had the rows left, and every
		// processing-log row. Retention keeps each user's first seen (see
		// Retain), so the first seen and the cohorts built on it are left
		// out of the comparison.
		ref := open(t)
		t.Cleanup(func() { _ = ref.Close() })
		if _, err := ref.AddRollupKey(ctx, "plan"); err != nil {
			t.Fatalf("AddRollupKey: %v", err)
		}
		for _, recs := range phases[retained:] {
			var kept []store.Record
			for _, r := range recs {
				if gone[r.Event.EventID] {
					r.Event = nil
				}
				kept = append(kept, r)
			}
			writeIn(t, ref, kept)
		}
		got2, want2 := viewOf(t, s), viewOf(t, ref)
		for _, v := range []*erasureView{&got2, &want2} {
			v.FirstSeen, v.Retention.Cohorts = nil, nil
		}
		sameView(t, step, got2, want2)

		cur, err := cursors.SourceRetentionCursors(ctx)
		if err != nil {
			t.Fatalf("%s: SourceRetentionCursors: %v", step, err)
		}
		for src, phase := range at {
			if cur[src] != firstOf[phase+1] {
				t.Errorf("%s: cursor of %q = %d, want %d (the first id of phase %d)", step, src, cur[src], firstOf[phase+1], phase+1)
			}
		}
		if _, ok := cur["src-c"]; ok {
			t.Errorf("%s: a cursor for a source without retention", step)
		}
	}

	for range 3 {
		writePhase()
	}
	if n, err := s.RetainSources(ctx, nil); err != nil || n != 0 {
		t.Fatalf("RetainSources(none) = %d, %v", n, err)
	}
	pass("first pass", map[string]int{"src-a": 1, "src-b": 0})
	check("first pass", map[string]int{"src-a": 1, "src-b": 0})
	// Nothing new: nothing goes, and the cursors stay where they are (the
	// pass read from them: the rows of C and without a source below them
	// are not read again).
	pass("again", map[string]int{"src-a": 1, "src-b": 0})
	check("again", map[string]int{"src-a": 1, "src-b": 0})

	// Events of A stored after its cursor moved are judged too.
	writePhase()
	writePhase()
	pass("later", map[string]int{"src-a": 3, "src-b": 2})
	check("later", map[string]int{"src-a": 3, "src-b": 2})

	// The server-wide retention deletes every row, past the cursors (and
	// the processing log with them); the next pass starts from the oldest
	// row left.
	if _, err := s.Retain(ctx, store.Retention{MaxAge: time.Since(marks[4])}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	retained = len(phases)
	for _, recs := range phases {
		for _, r := range recs {
			gone[r.Event.EventID] = true
		}
	}
	writePhase()
	writePhase()
	pass("after Retain", map[string]int{"src-a": 5, "src-b": 5})
	check("after Retain", map[string]int{"src-a": 5, "src-b": 5})
}
