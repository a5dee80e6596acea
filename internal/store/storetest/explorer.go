package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// ExplorerStore is a store that also serves the event explorer.
type ExplorerStore interface {
	store.Store
	store.Explorer
}

// RunExplorer runs the suite of store.Explorer. open returns a new, empty
// store for each subtest; the suite closes it.
func RunExplorer(t *testing.T, open func(t *testing.T) ExplorerStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ExplorerStore)
	}{
		{"SearchFilters", testSearchFilters},
		{"SearchPaging", testSearchPaging},
		{"SearchWindow", testSearchWindow},
		{"Export", testExport},
		{"MessageLookup", testMessageLookup},
		{"MessageReplay", testMessageReplay},
		{"RetryTimeline", testRetryTimeline},
		{"UseAfterClose", testExplorerClosed},
		{"UserProfileAgreesWithABruteForce", testUserProfileAgreesWithABruteForce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// explorerRows is the number of events explorerData writes.
const explorerRows = 12

// explorerData writes explorerRows events, e00 (oldest) to e11, whose
// fields follow their number so that each filter's answer is known.
func explorerData(t *testing.T, s store.Store) {
	t.Helper()
	batch := make([]store.Record, 0, explorerRows)
	for i := range explorerRows {
		typ := []string{event.TypePageView, event.TypeButtonClick, event.TypeFormSubmit}[i%3]
		r := completed(fmt.Sprintf("e%02d", i), typ, fmt.Sprintf("btn-%d", i%2), event.SourceAPI)
		e := r.Event
		e.UserID = fmt.Sprintf("u%d", 1+i%2)
		e.SessionID = "s-a"
		if i >= 6 {
			e.SessionID = "s-b"
		}
		e.Timestamp = base.Add(time.Duration(i) * time.Minute)
		e.Page = "/home"
		switch i {
		case 4:
			e.Page = "/Checkout/Step"
		case 7:
			e.Message = "Payment FAILED 50%_off"
		case 8:
			e.Message = "500 off"
		case 9:
			e.ElementID = "hero_banner"
		}
		batch = append(batch, r)
	}
	write(t, s, batch...)
}

// want lists the explorerData ids that match, newest first.
func want(match func(i int) bool) []string {
	var ids []string
	for i := explorerRows - 1; i >= 0; i-- {
		if match(i) {
			ids = append(ids, fmt.Sprintf("e%02d", i))
		}
	}
	return ids
}

func search(t *testing.T, s store.Explorer, q store.EventQuery) ([]event.Stored, int64) {
	t.Helper()
	got, next, err := s.SearchEvents(t.Context(), q)
	if err != nil {
		t.Fatalf("SearchEvents(%+v): %v", q, err)
	}
	return got, next
}

// searchAll pages through q with its cursors and returns every event seen.
func searchAll(t *testing.T, s store.Explorer, q store.EventQuery) []event.Stored {
	t.Helper()
	var all []event.Stored
	for range 10 * explorerRows {
		page, next := search(t, s, q)
		if len(page) > store.ClampLimit(q.Limit) {
			t.Fatalf("page of %d events over the limit %d", len(page), q.Limit)
		}
		all = append(all, page...)
		if next == 0 {
			return all
		}
		if q.Before > 0 && next >= q.Before {
			t.Fatalf("cursor did not move: %d after %d", next, q.Before)
		}
		q.Before = next
	}
	t.Fatalf("paging %+v did not end", q)
	return nil
}

type explorerCase struct {
	name  string
	q     store.EventQuery
	match func(i int) bool
}

func explorerCases() []explorerCase {
	return []explorerCase{
		{"none", store.EventQuery{}, func(int) bool { return true }},
		{"user", store.EventQuery{UserID: "u1"}, func(i int) bool { return i%2 == 0 }},
		{"type", store.EventQuery{EventType: event.TypeButtonClick}, func(i int) bool { return i%3 == 1 }},
		{"element", store.EventQuery{ElementID: "btn-1"}, func(i int) bool { return i%2 == 1 && i != 9 }},
		{"session", store.EventQuery{SessionID: "s-b"}, func(i int) bool { return i >= 6 }},
		{"from", store.EventQuery{From: base.Add(9 * time.Minute)}, func(i int) bool { return i >= 9 }},
		{"to", store.EventQuery{To: base.Add(2 * time.Minute)}, func(i int) bool { return i < 2 }},
		{"from and to", store.EventQuery{From: base.Add(3 * time.Minute), To: base.Add(7 * time.Minute)},
			func(i int) bool { return i >= 3 && i < 7 }},
		{"text in page ignores case", store.EventQuery{Text: "checkout"}, func(i int) bool { return i == 4 }},
		{"text wildcards are literal", store.EventQuery{Text: "50%_"}, func(i int) bool { return i == 7 }},
		{"text in element", store.EventQuery{Text: "o_b"}, func(i int) bool { return i == 9 }},
		{"text in message", store.EventQuery{Text: "off"}, func(i int) bool { return i == 7 || i == 8 }},
		{"text nowhere", store.EventQuery{Text: "zzz"}, func(int) bool { return false }},
		{"user and type", store.EventQuery{UserID: "u1", EventType: event.TypePageView},
			func(i int) bool { return i%2 == 0 && i%3 == 0 }},
		{"session and text", store.EventQuery{SessionID: "s-a", Text: "/home"},
			func(i int) bool { return i < 6 && i != 4 }},
		{"unknown user", store.EventQuery{UserID: "nobody"}, func(int) bool { return false }},
	}
}

func testSearchFilters(t *testing.T, s ExplorerStore) {
	explorerData(t, s)
	for _, tc := range explorerCases() {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Limit = store.MaxLimit
			got, next := search(t, s, q)
			wantIDs(t, "events", eventIDs(got), want(tc.match))
			if next != 0 {
				t.Errorf("next = %d, want 0 when everything fits one page", next)
			}
			for i := 1; i < len(got); i++ {
				if got[i].ID >= got[i-1].ID {
					t.Errorf("ids not descending: %d after %d", got[i].ID, got[i-1].ID)
				}
			}
		})
	}
	// The fields come back whole, as LatestEvents returns them.
	got, _ := search(t, s, store.EventQuery{UserID: "u2", Limit: 1})
	if l := latest(t, s, 1); len(got) != 1 || !reflect.DeepEqual(got[0], l[0]) {
		t.Errorf("search = %+v, want %+v", got, l)
	}
}

func testSearchPaging(t *testing.T, s ExplorerStore) {
	explorerData(t, s)
	for _, tc := range explorerCases() {
		for _, limit := range []int{1, 3, 5} {
			t.Run(fmt.Sprintf("%s/limit=%d", tc.name, limit), func(t *testing.T) {
				q := tc.q
				q.Limit = limit
				wantIDs(t, "paged events", eventIDs(searchAll(t, s, q)), want(tc.match))
			})
		}
	}
	// An exact last page says there is no more.
	q := store.EventQuery{UserID: "u1", Limit: 6}
	if got, next := search(t, s, q); len(got) != 6 || next != 0 {
		t.Errorf("exact page = %d events, next %d; want 6, 0", len(got), next)
	}
}

func testSearchWindow(t *testing.T, s ExplorerStore) {
	explorerData(t, s)
	all := latest(t, s, explorerRows)
	newest := all[0].ID
	// An unindexed filter looks at Window ids below the cursor only: the
	// page is short, and the cursor sends the next call further down.
	q := store.EventQuery{Text: "/", Window: 4, Limit: 100}
	got, next := search(t, s, q)
	wantIDs(t, "first window", eventIDs(got), want(func(i int) bool { return i >= 8 }))
	if next != newest-3 {
		t.Errorf("next = %d, want %d (the window's low end)", next, newest-3)
	}
	// A window with no match still moves on.
	q = store.EventQuery{Text: "Checkout", Window: 2}
	got, next = search(t, s, q)
	if len(got) != 0 || next != newest-1 {
		t.Errorf("empty window = %d events, next %d; want 0, %d", len(got), next, newest-1)
	}
	for _, tc := range explorerCases() {
		for _, w := range []int64{1, 5} {
			t.Run(fmt.Sprintf("%s/window=%d", tc.name, w), func(t *testing.T) {
				q := tc.q
				q.Window, q.Limit = w, 2
				wantIDs(t, "paged events", eventIDs(searchAll(t, s, q)), want(tc.match))
			})
		}
	}
}

func testExport(t *testing.T, s ExplorerStore) {
	explorerData(t, s)
	export := func(q store.EventQuery) []string {
		t.Helper()
		var ids []string
		if err := s.ExportEvents(t.Context(), q, func(e event.Stored) error {
			ids = append(ids, e.EventID)
			return nil
		}); err != nil {
			t.Fatalf("ExportEvents(%+v): %v", q, err)
		}
		return ids
	}
	for _, tc := range explorerCases() {
		t.Run(tc.name, func(t *testing.T) {
			wantIDs(t, "exported", export(tc.q), want(tc.match))
			q := tc.q
			q.Window = 3
			wantIDs(t, "exported in windows", export(q), want(tc.match))
		})
	}
	wantIDs(t, "export with a limit", export(store.EventQuery{UserID: "u2", Limit: 2}), []string{"e11", "e09"})
	wantIDs(t, "export from a cursor", export(store.EventQuery{Before: latest(t, s, 3)[2].ID}),
		want(func(i int) bool { return i < 9 }))

	stop := errors.New("client went away")
	calls := 0
	err := s.ExportEvents(t.Context(), store.EventQuery{}, func(event.Stored) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("export with a failing writer = %v after %d calls; want %v after 1", err, calls, stop)
	}
}

func testMessageLookup(t *testing.T, s ExplorerStore) {
	fetched := base.Add(500 * time.Millisecond)
	next := base.Add(3 * time.Second)
	attempts := []event.Attempt{
		{N: 1, StartedAt: base.Add(time.Second), EndedAt: base.Add(time.Second + time.Millisecond),
			Error: "simulated failure", NextRetryAt: &next},
		{N: 2, StartedAt: next, EndedAt: next.Add(time.Millisecond), Error: "simulated failure"},
	}
	ok := completed("ok", event.TypePageView, "", event.SourceProducer)
	ok.Message.FetchedAt = &fetched
	ok.Message.Attempts = attempts[:1]
	dead := deadLettered("dead", event.SourceAPI)
	dead.Message.FetchedAt = &fetched
	dead.Message.Attempts = attempts
	plain := completed("plain", event.TypePageView, "", event.SourceAPI)
	before := time.Now().Add(-time.Second)
	write(t, s, ok, dead, plain)
	after := time.Now().Add(time.Second)

	check := func(id string, r store.Record, wantEvent bool) {
		t.Helper()
		m, e, err := s.Message(t.Context(), id)
		if err != nil {
			t.Fatalf("Message(%q): %v", id, err)
		}
		if m.ID == 0 || m.StoredAt == nil || m.StoredAt.Before(before) || m.StoredAt.After(after) {
			t.Errorf("Message(%q): id %d, stored_at %v; want a row id and the time of the write", id, m.ID, m.StoredAt)
		}
		w := r.Message
		w.ID, w.StoredAt = m.ID, m.StoredAt
		sameTime(t, "queued_at", m.QueuedAt, w.QueuedAt)
		samePtrTime(t, "fetched_at", m.FetchedAt, w.FetchedAt)
		m.QueuedAt = w.QueuedAt
		if !reflect.DeepEqual(m, w) {
			t.Errorf("Message(%q) =\n%+v\nwant\n%+v", id, m, w)
		}
		if (e != nil) != wantEvent {
			t.Fatalf("Message(%q) event = %+v, want one: %v", id, e, wantEvent)
		}
		if e != nil && (e.EventID != id || e.ID == 0) {
			t.Errorf("Message(%q) event = %+v", id, e)
		}
	}
	check("ok", ok, true)
	check("dead", dead, false)
	check("plain", plain, true)
	if m, _, _ := s.Message(t.Context(), "plain"); m.Attempts != nil || m.FetchedAt != nil || m.ReplayOf != "" {
		t.Errorf("message without the timeline fields = %+v", m)
	}
	if _, _, err := s.Message(t.Context(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Message(unknown) error = %v, want store.ErrNotFound", err)
	}
	// The processing-log list carries the new fields too.
	msgs := messages(t, s, store.MessageFilter{Status: event.StatusDeadLettered})
	if len(msgs) != 1 || !slices.EqualFunc(msgs[0].Attempts, attempts, func(a, b event.Attempt) bool {
		return a.N == b.N && a.Error == b.Error && a.StartedAt.Equal(b.StartedAt)
	}) {
		t.Errorf("dead-lettered messages = %+v, want one with the attempts", msgs)
	}
}

func testMessageReplay(t *testing.T, s ExplorerStore) {
	write(t, s, deadLettered("r", event.SourceAPI))
	replay := completed("r", event.TypeFormSubmit, "form", event.SourceKafka)
	replay.Message.ReplayOf = "user_events_dlq/0/7"
	if got := write(t, s, replay); !got[0] {
		t.Errorf("replay inserted = %v, want true: its event is new", got)
	}
	m, e, err := s.Message(t.Context(), "r")
	if err != nil {
		t.Fatalf("Message: %v", err)
	}
	if m.Status != event.StatusCompleted || m.ReplayOf != replay.Message.ReplayOf || e == nil || m.Error != "" {
		t.Errorf("after a replay: message %+v, event %v; want completed, replay_of set, the event", m, e)
	}
	tot, err := s.Totals(t.Context(), base)
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	if tot.Messages[event.StatusCompleted] != 1 || tot.Messages[event.StatusDeadLettered] != 0 {
		t.Errorf("totals after a replay = %v, want one completed and no dead letter", tot.Messages)
	}
}

func testExplorerClosed(t *testing.T, s ExplorerStore) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := s.SearchEvents(t.Context(), store.EventQuery{}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("SearchEvents after Close = %v, want ErrClosed", err)
	}
	if err := s.ExportEvents(t.Context(), store.EventQuery{}, func(event.Stored) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("ExportEvents after Close = %v, want ErrClosed", err)
	}
	if _, _, err := s.Message(t.Context(), "x"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Message after Close = %v, want ErrClosed", err)
	}
}
