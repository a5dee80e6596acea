package sqlite

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// A search by user or session walks the id buckets of its index newest
// first: it finds rows across buckets and the empty ones between them,
// stops a page after maxBuckets probes with a cursor that goes on, and
// reads every matching row exactly once by following the cursors.
func TestSearchWalksBuckets(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Rows in bucket 0, in bucket 3 and past maxBuckets empty buckets
	// later; each bucket holds events of users u0 and u1 and of a session
	// that spans all of them, of two types.
	starts := []int64{0, 3 << bucketBits, (3 + maxBuckets + 5) << bucketBits}
	var n int
	for _, start := range starts {
		if start > 0 {
			// The next id AUTOINCREMENT hands out is start+1.
			if _, err := db.w.Exec(`UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'`, start); err != nil {
				t.Fatal(err)
			}
		}
		var batch []store.Record
		for range 7 {
			batch = append(batch, record(n))
			n++
		}
		if _, err := db.Write(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}

	for _, q := range []store.EventQuery{
		{UserID: "u0"},
		{UserID: "u1", EventType: event.TypeButtonClick},
		{SessionID: "s"},
		{SessionID: "s", UserID: "u1"},
		{UserID: "u0", Text: "btn"}, // a window of store.SearchWindow ids a page
		{UserID: "nobody"},
	} {
		t.Run(fmt.Sprintf("user=%s,session=%s,type=%s,text=%s", q.UserID, q.SessionID, q.EventType, q.Text), func(t *testing.T) {
			var want []string
			for i := n - 1; i >= 0; i-- {
				r := record(i)
				e := r.Event
				if (q.UserID == "" || e.UserID == q.UserID) && (q.SessionID == "" || e.SessionID == q.SessionID) &&
					(q.EventType == "" || e.EventType == q.EventType) {
					want = append(want, e.EventID)
				}
			}
			q.Limit = 2
			var got []string
			pages := 0
			for {
				page, next, err := db.SearchEvents(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page) > q.Limit {
					t.Fatalf("page of %d rows, limit %d", len(page), q.Limit)
				}
				for _, e := range page {
					got = append(got, e.EventID)
				}
				if next == 0 {
					break
				}
				if q.Before != 0 && next >= q.Before {
					t.Fatalf("cursor %d does not move on from %d", next, q.Before)
				}
				if pages > 100 {
					t.Fatal("cursors do not end")
				}
				q.Before = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}

	// The walk from the newest bucket down to bucket 3 crosses maxBuckets
	// buckets: that page stops short, its cursor at the last bucket probed.
	page, next, err := db.SearchEvents(t.Context(), store.EventQuery{UserID: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (starts[2]>>bucketBits - maxBuckets + 1) << bucketBits; len(page) != 0 || next != want {
		t.Errorf("search for a user with no rows = %d rows, next %d; want none, next %d", len(page), next, want)
	}
	// A cursor far past the newest row starts at the newest row.
	page, _, err = db.SearchEvents(t.Context(), store.EventQuery{UserID: "u0", Before: 1 << 50, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].ID <= starts[2] {
		t.Errorf("search before 1<<50 = %+v; want the newest row of u0", page)
	}
}

// record is the i-th row of TestSearchWalksBuckets.
func record(i int) store.Record {
	typ := event.TypePageView
	if i%3 == 0 {
		typ = event.TypeButtonClick
	}
	e := &event.Event{
		EventID:   fmt.Sprintf("e%03d", i),
		UserID:    fmt.Sprintf("u%d", i%2),
		EventType: typ,
		ElementID: "btn_buy",
		SessionID: "s",
		Timestamp: time.Unix(1_700_000_000, 0).UTC(),
	}
	return store.Record{Event: e, Message: event.Message{
		EventID: e.EventID, EventType: typ, UserID: e.UserID, Status: event.StatusCompleted,
		Source: event.SourceAPI, QueuedAt: e.Timestamp,
	}}
}
