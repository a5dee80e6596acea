// Package storetest is the one test suite every store.Store implementation
// must pass, so that SQLite and PostgreSQL behave the same.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// Run runs the suite. open returns a new, empty store for each subtest; the
// suite closes it, and open may register its own clean-up with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"IdempotentWrites", testIdempotent},
		{"ReusedEventIDConflicts", testConflict},
		{"EmptyBatch", testEmptyBatch},
		{"DeadLettered", testDeadLettered},
		{"BatchAtomicity", testAtomicity},
		{"LatestOrderAndLimit", testLatest},
		{"StoredCarriesMessageCoordinates", testCoordinates},
		{"MessageFilters", testMessageFilters},
		{"Totals", testTotals},
		{"TotalsFollowEveryChange", testTotalsFollowEveryChange},
		{"RollupsAgreeWithTheRows", testRollupsAgreeWithTheRows},
		{"PropertyRollupsAgreeWithTheEvents", testPropertyRollupsAgreeWithTheEvents},
		{"RollupKeyOnAnEmptyStore", testRollupKeyOnAnEmptyStore},
		{"PropertyRollupsUnderConcurrentWrites", testPropertyRollupsUnderConcurrentWrites},
		{"FunnelAgreesWithABruteForce", testFunnelAgreesWithABruteForce},
		{"ScanWhereKeepsExactlyTheMatches", testScanWhereKeepsExactlyTheMatches},
		{"RetentionAgreesWithABruteForce", testRetentionAgreesWithABruteForce},
		{"RetentionByAge", testRetentionByAge},
		{"RetentionByRows", testRetentionByRows},
		{"SourceRetention", func(t *testing.T, s store.Store) { testSourceRetention(t, s, open) }},
		{"TimestampsRoundTrip", testTimestamps},
		{"PropertiesRoundTrip", testProperties},
		{"StringsVerbatim", testVerbatim},
		{"ConcurrentReadsAndWrites", testConcurrent},
		{"ConcurrentOverlappingWrites", testOverlapping},
		{"UseAfterClose", testClosed},
		{"Positions", testPositions},
		{"Retries", testRetries},
		{"Finished", testFinished},
		{"RetryWithFilledTime", testRetryWithFilledTime},
		{"SeriesCountsWhatIsStored", testSeriesCountsWhatIsStored},
		{"SeriesOutsideRange", testSeriesOutsideRange},
		{"LagSeries", testLagSeries},
		{"MarkersKept", testMarkersKept},
		{"SeriesRetention", testSeriesRetention},
		{"Replays", testReplays},
		{"LedgerCountsOnce", testLedgerCountsOnce},
		{"LedgerConflictIsNoDuplicate", testLedgerConflictIsNoDuplicate},
		{"LedgerConcurrentStream", testLedgerConcurrentStream},
		{"LedgerCollectorCounts", testLedgerCollectorCounts},
		{"LedgerRetention", testLedgerRetention},
		{"Sources", testSources},
		{"UpdateSource", testUpdateSource},
		{"PlanEntries", testPlanEntries},
		{"PlanWarnings", testPlanWarnings},
		{"SavedInsights", testSavedInsights},
		{"Accounts", testAccounts},
		{"AccountsLastAdmin", testAccountsLastAdmin},
		{"Sessions", testSessions},
		{"APITokens", testAPITokens},
		{"AuditLog", testAuditLog},
		{"Settings", testSettings},
		{"UniquesFollowTheRows", testUniquesFollowTheRows},
		{"EraseUser", func(t *testing.T, s store.Store) { testEraseUser(t, s, open) }},
		{"SuppressionsPaging", testSuppressionsPaging},
		{"EraseUnderConcurrentWrites", testEraseUnderConcurrentWrites},
		{"AlertRules", testAlertRules},
		{"AlertTransitions", testAlertTransitions},
		{"AlertDeliveries", testAlertDeliveries},
		{"AlertStaleClaim", testAlertStaleClaim},
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

// base is a fixed, microsecond-exact instant, so expected values compare
// exactly after a round trip.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// completed returns the record of a message that completed: an event and its
// processing-log row.
func completed(id, typ, element string, source event.Source) store.Record {
	e := &event.Event{
		EventID:   id,
		UserID:    "user-" + id,
		EventType: typ,
		ElementID: element,
		Timestamp: base,
	}
	r := store.Record{Event: e, Message: message(id, typ, element, event.StatusCompleted, source)}
	r.Message.UserID = e.UserID
	return r
}

// deadLettered returns the record of a message that went to the DLQ.
func deadLettered(id string, source event.Source) store.Record {
	m := message(id, event.TypeFormSubmit, "form", event.StatusDeadLettered, source)
	m.Error = "simulated failure"
	m.Retries = 3
	return store.Record{Message: m}
}

func message(id, typ, element string, st event.Status, source event.Source) event.Message {
	started := base.Add(time.Second)
	done := started.Add(1500 * time.Microsecond)
	return event.Message{
		EventID:     id,
		EventType:   typ,
		UserID:      "user-" + id,
		ElementID:   element,
		Status:      st,
		Source:      source,
		ConsumerID:  "c1",
		Topic:       "user_events",
		Partition:   2,
		Offset:      int64(len(id)),
		QueuedAt:    base,
		StartedAt:   &started,
		CompletedAt: &done,
		DurationMS:  1.5,
	}
}

func write(t *testing.T, s store.Store, batch ...store.Record) []bool {
	t.Helper()
	out := writeOutcomes(t, s, batch...)
	for i, o := range out {
		if o.Conflict != "" {
			t.Fatalf("Write: record %d (%s) in conflict with %s", i, batch[i].Message.EventID, o.Conflict)
		}
	}
	return store.Inserted(out)
}

func writeOutcomes(t *testing.T, s store.Store, batch ...store.Record) []store.Outcome {
	t.Helper()
	out, err := s.Write(t.Context(), batch)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if len(out) != len(batch) {
		t.Fatalf("Write returned %d outcomes for %d records", len(out), len(batch))
	}
	return out
}

func latest(t *testing.T, s store.Store, limit int) []event.Stored {
	t.Helper()
	got, err := s.LatestEvents(t.Context(), limit)
	if err != nil {
		t.Fatalf("LatestEvents(%d): %v", limit, err)
	}
	return got
}

func messages(t *testing.T, s store.Store, f store.MessageFilter) []event.Message {
	t.Helper()
	got, err := s.Messages(t.Context(), f)
	if err != nil {
		t.Fatalf("Messages(%+v): %v", f, err)
	}
	return got
}

func eventIDs(events []event.Stored) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.EventID
	}
	return ids
}

func messageIDs(msgs []event.Message) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.EventID
	}
	return ids
}

func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func testIdempotent(t *testing.T, s store.Store) {
	steps := []struct {
		batch []string
		want  []bool
	}{
		{[]string{"a", "b"}, []bool{true, true}},
		{[]string{"b", "c"}, []bool{false, true}},
		{[]string{"d", "d", "a"}, []bool{true, false, false}},
	}
	for _, st := range steps {
		var batch []store.Record
		for _, id := range st.batch {
			batch = append(batch, completed(id, event.TypePageView, "", event.SourceAPI))
		}
		if got := write(t, s, batch...); !slices.Equal(got, st.want) {
			t.Errorf("Write(%q) inserted = %v, want %v", st.batch, got, st.want)
		}
	}
	wantIDs(t, "latest events", eventIDs(latest(t, s, 10)), []string{"d", "c", "b", "a"})
	wantIDs(t, "messages", messageIDs(messages(t, s, store.MessageFilter{})), []string{"d", "c", "b", "a"})
	// One event's row, as the pipeline looks for an earlier copy's.
	wantIDs(t, "messages of event c", messageIDs(messages(t, s, store.MessageFilter{EventID: "c"})), []string{"c"})
	wantIDs(t, "messages of an unknown event", messageIDs(messages(t, s, store.MessageFilter{EventID: "zz"})), nil)
}

// A redelivery (the same event again) settles silently; an event_id
// reused for another event is a conflict naming where the stored one came
// from, and writes nothing, in another batch or in the same one.
func testConflict(t *testing.T, s store.Store) {
	orig := completed("x", event.TypePageView, "home", event.SourceKafka)
	orig.Event.Properties = []byte(`{"a": 1}`)
	write(t, s, orig)
	origin := fmt.Sprintf("user_events/%d/%d", orig.Message.Partition, orig.Message.Offset)

	again := completed("x", event.TypePageView, "home", event.SourceKafka)
	again.Event.Properties = []byte(`{"a": 1}`)
	again.Event.Timestamp = base.Add(300 * time.Nanosecond) // below the stored precision
	if got := writeOutcomes(t, s, again); got[0] != (store.Outcome{}) {
		t.Errorf("redelivery: outcome %+v, want neither new nor a conflict", got[0])
	}
	for name, change := range map[string]func(e *event.Event){
		"user_id":       func(e *event.Event) { e.UserID = "someone-else" },
		"event_type":    func(e *event.Event) { e.EventType = event.TypeButtonClick },
		"element_id":    func(e *event.Event) { e.ElementID = "other" },
		"session_id":    func(e *event.Event) { e.SessionID = "s2" },
		"page":          func(e *event.Event) { e.Page = "/other" },
		"message":       func(e *event.Event) { e.Message = "hi" },
		"properties":    func(e *event.Event) { e.Properties = []byte(`{"a": 2}`) },
		"no properties": func(e *event.Event) { e.Properties = nil },
		"delay_seconds": func(e *event.Event) { e.DelaySeconds = 1 },
		"should_fail":   func(e *event.Event) { e.ShouldFail = true },
		"timestamp":     func(e *event.Event) { e.Timestamp = base.Add(time.Millisecond) },
	} {
		r := completed("x", event.TypePageView, "home", event.SourceAPI)
		r.Event.Properties = []byte(`{"a": 1}`)
		r.Message.Offset = 99
		change(r.Event)
		if got := writeOutcomes(t, s, r); got[0].New || got[0].Conflict != origin {
			t.Errorf("another %s under a stored event_id: outcome %+v, want a conflict with %s", name, got[0], origin)
		}
	}
	// Nothing of the conflicting records was written.
	ev := latest(t, s, 10)
	if len(ev) != 1 || ev[0].UserID != "user-x" || string(ev[0].Properties) != `{"a": 1}` || ev[0].EventType != event.TypePageView {
		t.Errorf("stored events = %+v, want the original only", ev)
	}
	ms := messages(t, s, store.MessageFilter{})
	if len(ms) != 1 || ms[0].Offset != orig.Message.Offset {
		t.Errorf("messages = %+v, want the original's only", ms)
	}

	// Within one batch: the first wins, the second conflicts with it,
	// a third identical to the first is a redelivery.
	a := completed("y", event.TypePageView, "", event.SourceKafka)
	b := completed("y", event.TypeButtonClick, "", event.SourceKafka)
	b.Message.Offset = 7
	c := completed("y", event.TypePageView, "", event.SourceKafka)
	got := writeOutcomes(t, s, a, b, c)
	want := []store.Outcome{{New: true}, {Conflict: fmt.Sprintf("user_events/%d/%d", a.Message.Partition, a.Message.Offset)}, {}}
	if !slices.Equal(got, want) {
		t.Errorf("one batch: outcomes %+v, want %+v", got, want)
	}
}

func testEmptyBatch(t *testing.T, s store.Store) {
	got, err := s.Write(t.Context(), nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Write(nil) = %v, %v; want no flags, no error", got, err)
	}
}

func testDeadLettered(t *testing.T, s store.Store) {
	if got := write(t, s, deadLettered("x", event.SourceKafka)); !slices.Equal(got, []bool{true}) {
		t.Fatalf("dead-lettered inserted = %v, want [true]", got)
	}
	if got := latest(t, s, 10); len(got) != 0 {
		t.Errorf("a dead-lettered record stored events %q", eventIDs(got))
	}
	msgs := messages(t, s, store.MessageFilter{})
	if len(msgs) != 1 || msgs[0].Status != event.StatusDeadLettered || msgs[0].Error != "simulated failure" || msgs[0].Retries != 3 {
		t.Fatalf("messages = %+v, want one dead-lettered row with its error and retries", msgs)
	}
	if got := write(t, s, deadLettered("x", event.SourceKafka)); !slices.Equal(got, []bool{false}) {
		t.Errorf("dead-lettered again inserted = %v, want [false]", got)
	}

	// A replay from the DLQ that completes stores the event and turns the
	// log row into the completed one.
	replay := completed("x", event.TypeFormSubmit, "form", event.SourceKafka)
	if got := write(t, s, replay); !slices.Equal(got, []bool{true}) {
		t.Errorf("replay inserted = %v, want [true]", got)
	}
	if got := write(t, s, replay, deadLettered("x", event.SourceKafka)); !slices.Equal(got, []bool{false, false}) {
		t.Errorf("replay again inserted = %v, want [false false]", got)
	}
	wantIDs(t, "latest events", eventIDs(latest(t, s, 10)), []string{"x"})
	msgs = messages(t, s, store.MessageFilter{})
	if len(msgs) != 1 || msgs[0].Status != event.StatusCompleted || msgs[0].Error != "" {
		t.Errorf("messages after replay = %+v, want one completed row", msgs)
	}
}

func testAtomicity(t *testing.T, s store.Store) {
	good := func(prefix string) []store.Record {
		return []store.Record{
			completed(prefix+"1", event.TypePageView, "", event.SourceAPI),
			deadLettered(prefix+"2", event.SourceAPI),
			completed(prefix+"3", event.TypeButtonClick, "b", event.SourceAPI),
		}
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	noID := good("n")
	noID[2].Message.EventID = ""
	mismatch := good("m")
	mismatch[2].Event.EventID = "other"
	badStatus := good("s")
	badStatus[2].Message.Status = "lost"
	badJSON := good("j")
	badJSON[2].Event.Properties = json.RawMessage(`{"a":`)

	for _, tc := range []struct {
		name  string
		ctx   context.Context
		batch []store.Record
	}{
		{"cancelled context", cancelled, good("c")},
		{"record without event_id", t.Context(), noID},
		{"event and message ids differ", t.Context(), mismatch},
		{"unknown status", t.Context(), badStatus},
		{"invalid properties", t.Context(), badJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Write(tc.ctx, tc.batch)
			if err == nil {
				t.Fatalf("Write = %v, nil; want an error", got)
			}
			if errors.Is(err, store.ErrClosed) {
				t.Fatalf("Write error = %v, must not be ErrClosed", err)
			}
			if ev := latest(t, s, 10); len(ev) != 0 {
				t.Errorf("failed batch left events %q", eventIDs(ev))
			}
			if m := messages(t, s, store.MessageFilter{}); len(m) != 0 {
				t.Errorf("failed batch left messages %q", messageIDs(m))
			}
		})
	}
	// The store still works after failed batches, and the records of the
	// cancelled batch are new.
	if got := write(t, s, good("c")...); !slices.Equal(got, []bool{true, true, true}) {
		t.Errorf("inserted after failures = %v, want all true", got)
	}
}

func testLatest(t *testing.T, s store.Store) {
	var all []string
	for b := range 3 {
		var batch []store.Record
		for i := range 4 {
			id := fmt.Sprintf("e%02d", b*4+i)
			all = append(all, id)
			batch = append(batch, completed(id, event.TypePageView, "", event.SourceProducer))
		}
		write(t, s, batch...)
	}
	slices.Reverse(all)
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{1, all[:1]},
		{5, all[:5]},
		{0, all},
		{-3, all},
		{store.MaxLimit + 1, all},
	} {
		got := latest(t, s, tc.limit)
		wantIDs(t, fmt.Sprintf("LatestEvents(%d)", tc.limit), eventIDs(got), tc.want)
		for i := 1; i < len(got); i++ {
			if got[i].ID >= got[i-1].ID {
				t.Errorf("LatestEvents(%d): id %d follows %d, want descending", tc.limit, got[i].ID, got[i-1].ID)
			}
		}
	}
}

func testCoordinates(t *testing.T, s store.Store) {
	r := completed("k", event.TypeUserLogin, "login", event.SourceKafka)
	r.Message.Partition = 7
	r.Message.Offset = 1 << 40
	r.Message.RequestID = "req-1"
	before := time.Now().Add(-time.Second)
	write(t, s, r)
	after := time.Now().Add(time.Second)
	got := latest(t, s, 1)
	if len(got) != 1 {
		t.Fatalf("latest = %d events, want 1", len(got))
	}
	e := got[0]
	if e.ID == 0 || e.Source != event.SourceKafka || e.Partition != 7 || e.Offset != 1<<40 {
		t.Errorf("stored event id/source/partition/offset = %d/%q/%d/%d, want non-zero/kafka/7/%d",
			e.ID, e.Source, e.Partition, e.Offset, int64(1<<40))
	}
	if e.CreatedAt.Before(before) || e.CreatedAt.After(after) || e.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at = %v, want a UTC time near now", e.CreatedAt)
	}
	m := messages(t, s, store.MessageFilter{})
	if len(m) != 1 || m[0].ID == 0 || m[0].RequestID != "req-1" || m[0].Offset != 1<<40 || m[0].Partition != 7 {
		t.Errorf("message = %+v, want id set, request_id req-1, partition 7, offset 2^40", m)
	}
}

func testMessageFilters(t *testing.T, s store.Store) {
	rows := []struct {
		id     string
		status event.Status
		source event.Source
	}{
		{"m1", event.StatusCompleted, event.SourceAPI},
		{"m2", event.StatusDeadLettered, event.SourceAPI},
		{"m3", event.StatusCompleted, event.SourceKafka},
		{"m4", event.StatusDeadLettered, event.SourceKafka},
		{"m5", event.StatusCompleted, event.SourceAPI},
		{"m6", event.StatusDeadLettered, event.SourceProducer},
	}
	for _, r := range rows {
		var rec store.Record
		if r.status == event.StatusCompleted {
			rec = completed(r.id, event.TypeAPICall, "", r.source)
		} else {
			rec = deadLettered(r.id, r.source)
			rec.Message.Status = r.status
		}
		write(t, s, rec)
	}
	for _, tc := range []struct {
		f    store.MessageFilter
		want []string
	}{
		{store.MessageFilter{}, []string{"m6", "m5", "m4", "m3", "m2", "m1"}},
		{store.MessageFilter{Limit: 2}, []string{"m6", "m5"}},
		{store.MessageFilter{Status: event.StatusCompleted}, []string{"m5", "m3", "m1"}},
		{store.MessageFilter{Status: event.StatusDeadLettered}, []string{"m6", "m4", "m2"}},
		{store.MessageFilter{Source: event.SourceAPI}, []string{"m5", "m2", "m1"}},
		{store.MessageFilter{Source: event.SourceKafka, Limit: 1}, []string{"m4"}},
		{store.MessageFilter{Status: event.StatusCompleted, Source: event.SourceAPI}, []string{"m5", "m1"}},
		{store.MessageFilter{Status: event.StatusDeadLettered, Source: event.SourceKafka}, []string{"m4"}},
		{store.MessageFilter{Status: event.StatusDeadLettered, Source: event.SourceAPI}, []string{"m2"}},
		{store.MessageFilter{Status: event.StatusQueued}, nil},
		{store.MessageFilter{Limit: -1}, []string{"m6", "m5", "m4", "m3", "m2", "m1"}},
		{store.MessageFilter{Limit: store.MaxLimit * 2}, []string{"m6", "m5", "m4", "m3", "m2", "m1"}},
	} {
		got := messages(t, s, tc.f)
		wantIDs(t, fmt.Sprintf("Messages(%+v)", tc.f), messageIDs(got), tc.want)
	}
}

func testTotals(t *testing.T, s store.Store) {
	empty, err := s.Totals(t.Context(), time.Time{})
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	if want := (store.Totals{EventTypes: map[string]int64{}, Clicks: map[string]int64{},
		Messages: map[event.Status]int64{}}); !reflect.DeepEqual(empty, want) {
		t.Errorf("Totals of an empty store = %+v, want zeros and empty maps", empty)
	}

	var batch []store.Record
	add := func(id, typ, element string, ms float64) {
		r := completed(id, typ, element, event.SourceAPI)
		r.Message.DurationMS = ms
		batch = append(batch, r)
	}
	add("t1", event.TypePageView, "", 10)
	add("t2", event.TypePageView, "", 20)
	add("t3", event.TypeButtonClick, "button-1", 30)
	add("t4", event.TypeButtonClick, "button-1", 40)
	add("t5", event.TypeButtonClick, "button-2", 50)
	add("t6", "checkout_started", "cart", 60)
	dl := deadLettered("t7", event.SourceKafka)
	dl.Message.DurationMS = 1000 // must not count towards the average
	batch = append(batch, dl)
	before := time.Now().Add(-time.Minute)
	write(t, s, batch...)
	// A redelivery changes nothing.
	write(t, s, batch[0], batch[6])

	got, err := s.Totals(t.Context(), before)
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	want := store.Totals{
		Events:          6,
		EventTypes:      map[string]int64{event.TypePageView: 2, event.TypeButtonClick: 3, "checkout_started": 1},
		Clicks:          map[string]int64{"button-1": 2, "button-2": 1},
		Messages:        map[event.Status]int64{event.StatusCompleted: 6, event.StatusDeadLettered: 1},
		ProcessingMSSum: 210,
		ProcessingCount: 6,
		Recent:          6,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Totals =\n%+v\nwant\n%+v", got, want)
	}
	later, err := s.Totals(t.Context(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	if later.Recent != 0 || later.Events != 6 {
		t.Errorf("Totals(future).Recent, Events = %d, %d; want 0, 6", later.Recent, later.Events)
	}

}

func testRetentionByAge(t *testing.T, s store.Store) {
	old := []store.Record{
		completed("old1", event.TypePageView, "", event.SourceAPI),
		completed("old2", event.TypePageView, "", event.SourceAPI),
		deadLettered("old3", event.SourceAPI),
	}
	write(t, s, old...)
	n, err := s.Retain(t.Context(), store.Retention{MaxAge: time.Hour})
	if err != nil || n != 0 {
		t.Fatalf("Retain(1h) = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.Retain(t.Context(), store.Retention{}); err != nil || n != 0 {
		t.Fatalf("Retain(no bounds) = %d, %v; want 0, nil", n, err)
	}

	// Rows are stamped when written; retry until the clock has moved past
	// them by more than the bound.
	var deleted int64
	deadline := time.Now().Add(5 * time.Second)
	for deleted < 2 && time.Now().Before(deadline) {
		n, err := s.Retain(t.Context(), store.Retention{MaxAge: time.Microsecond})
		if err != nil {
			t.Fatalf("Retain(1µs): %v", err)
		}
		deleted += n
	}
	if deleted != 2 {
		t.Fatalf("Retain(1µs) deleted %d events, want 2", deleted)
	}
	if m := messages(t, s, store.MessageFilter{}); len(m) != 0 {
		t.Errorf("old messages left: %q", messageIDs(m))
	}

	write(t, s, completed("new1", event.TypePageView, "", event.SourceAPI), deadLettered("new2", event.SourceAPI))
	if n, err := s.Retain(t.Context(), store.Retention{MaxAge: time.Hour}); err != nil || n != 0 {
		t.Fatalf("Retain(1h) = %d, %v; want 0, nil", n, err)
	}
	wantIDs(t, "events", eventIDs(latest(t, s, 10)), []string{"new1"})
	wantIDs(t, "messages", messageIDs(messages(t, s, store.MessageFilter{})), []string{"new2", "new1"})
	// An event id that retention forgot is new again.
	if got := write(t, s, old[0]); !slices.Equal(got, []bool{true}) {
		t.Errorf("rewrite of a deleted event inserted = %v, want [true]", got)
	}
}

func testRetentionByRows(t *testing.T, s store.Store) {
	var want []string
	for b := range 3 {
		var batch []store.Record
		for i := range 4 {
			id := fmt.Sprintf("r%02d", b*4+i)
			want = append(want, id)
			batch = append(batch, completed(id, event.TypePageView, "", event.SourceAPI))
		}
		write(t, s, batch...)
	}
	write(t, s, deadLettered("dl1", event.SourceAPI), deadLettered("dl2", event.SourceAPI))
	slices.Reverse(want)

	n, err := s.Retain(t.Context(), store.Retention{MaxRows: 100})
	if err != nil || n != 0 {
		t.Fatalf("Retain(100 rows) = %d, %v; want 0, nil", n, err)
	}
	n, err = s.Retain(t.Context(), store.Retention{MaxRows: 5, MaxAge: time.Hour})
	if err != nil || n != 7 {
		t.Fatalf("Retain(5 rows) = %d, %v; want 7, nil", n, err)
	}
	wantIDs(t, "events", eventIDs(latest(t, s, 100)), want[:5])
	wantIDs(t, "messages", messageIDs(messages(t, s, store.MessageFilter{})),
		append([]string{"dl2", "dl1"}, want[:3]...))
	if n, err := s.Retain(t.Context(), store.Retention{MaxRows: 5}); err != nil || n != 0 {
		t.Errorf("Retain again = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.Retain(t.Context(), store.Retention{MaxRows: 1}); err != nil || n != 4 {
		t.Errorf("Retain(1 row) = %d, %v; want 4, nil", n, err)
	}
	wantIDs(t, "events", eventIDs(latest(t, s, 100)), want[:1])
}

func sameTime(t *testing.T, name string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s = %v (%v), want %v in UTC", name, got, got.Location(), want.UTC())
	}
}

func samePtrTime(t *testing.T, name string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", name, got, want)
	default:
		sameTime(t, name, *got, *want)
	}
}

func testTimestamps(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	ts := time.Date(2025, 12, 31, 23, 59, 59, 123456789, zone)
	started := ts.Add(time.Second)
	done := started.Add(2*time.Second + 999)
	retry := done.Add(time.Minute)

	r := completed("ts", event.TypePageView, "", event.SourceAPI)
	r.Event.Timestamp = ts
	r.Message.QueuedAt = ts.Add(-time.Millisecond)
	r.Message.StartedAt = &started
	r.Message.CompletedAt = &done
	r.Message.NextRetryAt = &retry
	nils := deadLettered("nils", event.SourceAPI)
	nils.Message.StartedAt, nils.Message.CompletedAt = nil, nil
	write(t, s, r, nils)

	us := func(t time.Time) time.Time { return t.Truncate(time.Microsecond) }
	got := latest(t, s, 1)
	if len(got) != 1 {
		t.Fatalf("latest = %d events, want 1", len(got))
	}
	sameTime(t, "event timestamp", got[0].Timestamp, us(ts))
	msgs := messages(t, s, store.MessageFilter{})
	if len(msgs) != 2 {
		t.Fatalf("messages = %d, want 2", len(msgs))
	}
	m := msgs[1]
	sameTime(t, "queued_at", m.QueuedAt, us(r.Message.QueuedAt))
	u1, u2, u3 := us(started), us(done), us(retry)
	samePtrTime(t, "started_at", m.StartedAt, &u1)
	samePtrTime(t, "completed_at", m.CompletedAt, &u2)
	samePtrTime(t, "next_retry_at", m.NextRetryAt, &u3)
	samePtrTime(t, "nil started_at", msgs[0].StartedAt, nil)
	samePtrTime(t, "nil completed_at", msgs[0].CompletedAt, nil)
	samePtrTime(t, "nil next_retry_at", msgs[0].NextRetryAt, nil)
}

func testProperties(t *testing.T, s store.Store) {
	props := []json.RawMessage{
		nil,
		json.RawMessage(`{}`),
		json.RawMessage(`{"b": 1, "a": [1, 2.50, {"x": null}], "s": "ünï \"q\" \u00e9"}`),
		json.RawMessage(`{"nested":{"deep":{"deeper":true}},"z":"'; DROP TABLE events; --"}`),
	}
	var batch []store.Record
	for i, p := range props {
		r := completed(fmt.Sprintf("p%d", i), event.TypeAPICall, "", event.SourceAPI)
		r.Event.Properties = p
		batch = append(batch, r)
	}
	write(t, s, batch...)
	got := latest(t, s, 10)
	slices.Reverse(got)
	if len(got) != len(props) {
		t.Fatalf("latest = %d events, want %d", len(got), len(props))
	}
	for i, p := range props {
		if string(got[i].Properties) != string(p) || (p == nil) != (got[i].Properties == nil) {
			t.Errorf("properties %d = %q, want %q verbatim", i, got[i].Properties, p)
		}
	}
}

func testVerbatim(t *testing.T, s store.Store) {
	for i, v := range []string{
		"'; DROP TABLE events; --",
		"<script>alert('x')</script>",
		`Robert"); DELETE FROM messages; --`,
		"ünïcödé 日本語 🎉 \u202e",
		"line one\nline\ttwo\r\n",
		`back\slash %_ ? $1 :name`,
	} {
		id := fmt.Sprintf("%s#%d", v, i)
		r := completed(id, event.TypeButtonClick, v, event.SourceAPI)
		e := r.Event
		e.UserID, e.SessionID, e.Page, e.Message = v, v, v, v
		e.DelaySeconds, e.ShouldFail = 2.5, true
		r.Message.UserID, r.Message.ConsumerID, r.Message.Error, r.Message.RequestID = v, v, v, v
		r.Message.ReplayOf = v
		write(t, s, r)

		got := latest(t, s, 1)
		if len(got) != 1 {
			t.Fatalf("latest = %d events, want 1", len(got))
		}
		g := got[0]
		want := event.Stored{ID: g.ID, Event: *e, Source: event.SourceAPI, Partition: r.Message.Partition,
			Offset: r.Message.Offset, CreatedAt: g.CreatedAt}
		sameTime(t, "timestamp", g.Timestamp, e.Timestamp)
		g.Timestamp = e.Timestamp
		if !reflect.DeepEqual(g, want) {
			t.Errorf("stored event =\n%+v\nwant\n%+v", g, want)
		}
		msgs := messages(t, s, store.MessageFilter{Limit: 1})
		if len(msgs) != 1 {
			t.Fatalf("messages = %d, want 1", len(msgs))
		}
		m := msgs[0]
		wantM := r.Message
		wantM.ID = m.ID
		if m.StoredAt == nil {
			t.Errorf("message stored_at is nil, want the time of the write")
		}
		wantM.StoredAt = m.StoredAt
		for _, p := range []struct {
			name      string
			got, want *time.Time
		}{
			{"queued_at", &m.QueuedAt, &wantM.QueuedAt},
			{"started_at", m.StartedAt, wantM.StartedAt},
			{"completed_at", m.CompletedAt, wantM.CompletedAt},
		} {
			samePtrTime(t, p.name, p.got, p.want)
		}
		m.QueuedAt, m.StartedAt, m.CompletedAt = wantM.QueuedAt, wantM.StartedAt, wantM.CompletedAt
		if !reflect.DeepEqual(m, wantM) {
			t.Errorf("message =\n%+v\nwant\n%+v", m, wantM)
		}
	}
	// The tables survived the strings above.
	if got := latest(t, s, 100); len(got) != 6 {
		t.Errorf("latest = %d events, want 6", len(got))
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	const writers, batches, size = 2, 5, 40
	ctx := t.Context()
	var reading errgroup.Group
	done := make(chan struct{})
	var writing errgroup.Group
	for w := range writers {
		writing.Go(func() error {
			for b := range batches {
				batch := make([]store.Record, 0, size)
				for i := range size {
					id := fmt.Sprintf("w%d-b%d-%d", w, b, i)
					if i%10 == 9 {
						batch = append(batch, deadLettered(id, event.SourceKafka))
					} else {
						batch = append(batch, completed(id, event.TypeButtonClick, fmt.Sprint("button-", i%3), event.SourceAPI))
					}
				}
				out, err := s.Write(ctx, batch)
				if err != nil {
					return err
				}
				if inserted := store.Inserted(out); slices.Contains(inserted, false) {
					return fmt.Errorf("writer %d batch %d: inserted = %v, want all true", w, b, inserted)
				}
			}
			return nil
		})
	}
	for range 2 {
		reading.Go(func() error {
			for {
				select {
				case <-done:
					return nil
				default:
				}
				if _, err := s.LatestEvents(ctx, 20); err != nil {
					return err
				}
				if _, err := s.Messages(ctx, store.MessageFilter{Status: event.StatusCompleted, Limit: 20}); err != nil {
					return err
				}
				if _, err := s.Totals(ctx, time.Time{}); err != nil {
					return err
				}
			}
		})
	}
	werr := writing.Wait()
	close(done)
	if err := errors.Join(werr, reading.Wait()); err != nil {
		t.Fatal(err)
	}
	tot, err := s.Totals(ctx, time.Time{})
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	const total = writers * batches * size
	if tot.Events != total*9/10 || tot.Messages[event.StatusDeadLettered] != total/10 {
		t.Errorf("after concurrent writes: %d events, %d dead-lettered; want %d, %d",
			tot.Events, tot.Messages[event.StatusDeadLettered], total*9/10, total/10)
	}
}

// testOverlapping writes the same records from two writers in opposite
// orders at once, as two consumers do after a rebalance: each record must
// be reported new exactly once, and no writer may fail.
func testOverlapping(t *testing.T, s store.Store) {
	const n, size = 600, 100
	recs := make([]store.Record, n)
	for i := range recs {
		id := fmt.Sprintf("o%03d", i)
		if i%7 == 0 {
			recs[i] = deadLettered(id, event.SourceKafka)
		} else {
			recs[i] = completed(id, event.TypePageView, "", event.SourceKafka)
		}
	}
	counts := make([][n]int, 2)
	var g errgroup.Group
	for w := range 2 {
		g.Go(func() error {
			for start := 0; start < n; start += size {
				batch := slices.Clone(recs[start : start+size])
				if w == 1 {
					slices.Reverse(batch)
				}
				inserted, err := s.Write(t.Context(), batch)
				if err != nil {
					return fmt.Errorf("writer %d: %w", w, err)
				}
				for i, o := range inserted {
					if o.New {
						var k int
						if _, err := fmt.Sscanf(batch[i].Message.EventID, "o%03d", &k); err != nil {
							return err
						}
						counts[w][k]++
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for k := range n {
		if c := counts[0][k] + counts[1][k]; c != 1 {
			t.Errorf("record o%03d reported new %d times, want once", k, c)
		}
	}
	tot, err := s.Totals(t.Context(), time.Time{})
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	if tot.Events != n-(n+6)/7 || tot.Messages[event.StatusDeadLettered] != (n+6)/7 {
		t.Errorf("Totals = %d events, %d dead-lettered; want %d, %d",
			tot.Events, tot.Messages[event.StatusDeadLettered], n-(n+6)/7, (n+6)/7)
	}
}

func testClosed(t *testing.T, s store.Store) {
	write(t, s, completed("c", event.TypePageView, "", event.SourceAPI))
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"Write": func() error {
			_, err := s.Write(ctx, []store.Record{completed("d", event.TypePageView, "", event.SourceAPI)})
			return err
		},
		"LatestEvents": func() error { _, err := s.LatestEvents(ctx, 1); return err },
		"Messages":     func() error { _, err := s.Messages(ctx, store.MessageFilter{}); return err },
		"Totals":       func() error { _, err := s.Totals(ctx, time.Time{}); return err },
		"Retain":       func() error { _, err := s.Retain(ctx, store.Retention{MaxRows: 1}); return err },
		"Ping":         func() error { return s.Ping(ctx) },
	} {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

// testPositions: each batch moves its partitions' positions to the offset
// after its last record, dead-lettered records and redeliveries included;
// a position never moves back; retention leaves positions alone; records
// without a topic move nothing.
func testPositions(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := func(id, topic string, p int32, off int64, dead bool) store.Record {
		r := completed(id, event.TypePageView, "", event.SourceKafka)
		if dead {
			r = deadLettered(id, event.SourceKafka)
		}
		r.Message.Topic, r.Message.Partition, r.Message.Offset = topic, p, off
		return r
	}
	if got, err := s.Positions(ctx); err != nil || len(got) != 0 {
		t.Fatalf("positions of an empty store = %v, %v; want none", got, err)
	}
	write := func(rs ...store.Record) {
		t.Helper()
		if _, err := s.Write(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	write(at("a", "t1", 0, 4, false), at("b", "t1", 0, 9, true), at("c", "t1", 2, 0, false), at("d", "t2", 0, 41, false))
	// A redelivery of an older record (after a rebalance) does not move
	// the position back; a record without a topic moves nothing.
	local := completed("local", event.TypePageView, "", event.SourceAPI)
	local.Message.Topic = ""
	write(at("a", "t1", 0, 4, false), local)
	want := store.Positions{"t1": {0: 10, 2: 1}, "t2": {0: 42}}
	got, err := s.Positions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("positions = %v, want %v", got, want)
	}
	if _, err := s.Retain(ctx, store.Retention{MaxRows: 1}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Positions(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("positions after retention = %v, %v; want %v", got, err, want)
	}
}

// testRetryWithFilledTime: a record whose timestamp was filled in at
// ingest differs from the stored event only in that time when it is its
// client's retry: no conflict. Without the mark, the same difference is.
func testRetryWithFilledTime(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := completed("filled", event.TypeButtonClick, "buy", event.SourceAPI)
	first.TimeFilled = true
	if _, err := s.Write(ctx, []store.Record{first}); err != nil {
		t.Fatal(err)
	}
	retry := completed("filled", event.TypeButtonClick, "buy", event.SourceAPI)
	retry.Event.Timestamp = base.Add(3 * time.Second)
	retry.TimeFilled = true
	out, err := s.Write(ctx, []store.Record{retry})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].New || out[0].Conflict != "" {
		t.Fatalf("a retry with a filled-in time = %+v, want a redelivery", out[0])
	}
	retry.TimeFilled = false
	if out, err = s.Write(ctx, []store.Record{retry}); err != nil {
		t.Fatal(err)
	}
	if out[0].Conflict == "" {
		t.Fatalf("another time given by the client = %+v, want a conflict", out[0])
	}
}
