package storetest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/store"
)

// The users of the erasure tests: A is erased, B stays.
const (
	erasedUser = "erase-alice"
	keptUser   = "erase-bob"
)

// erasureRecords returns n completed records of user, over two days,
// of several types, pages, sources, sessions and partitions, with
// properties the "plan" rollup key counts, and two dead-lettered ones;
// ids start with prefix. Only A has the type "a_only", so that some
// buckets hold A's events alone.
func erasureRecords(prefix, user string, n int) []store.Record {
	types := []string{event.TypePageView, event.TypeButtonClick, "purchase"}
	pages := []string{"/", "/pricing", "/cart", "/checkout"}
	var out []store.Record
	for k := range n {
		id := fmt.Sprintf("%s-%s-%03d", prefix, user, k)
		typ := types[k%len(types)]
		if user == erasedUser && k%5 == 4 {
			typ = "a_only"
		}
		ts := base.Add(time.Duration(k%2)*24*time.Hour + time.Duration(k)*7*time.Minute)
		e := &event.Event{EventID: id, UserID: user, EventType: typ, ElementID: fmt.Sprintf("btn-%d", k%3),
			SessionID: fmt.Sprintf("%s-s%d", user, k/4), Page: pages[k%len(pages)], Timestamp: ts,
			Properties: json.RawMessage(fmt.Sprintf(`{"plan":%q,"n":%d}`, []string{"free", "pro"}[k%2], k))}
		if k%3 == 0 {
			e.SourceID = "src-web"
		}
		m := message(id, typ, e.ElementID, event.StatusCompleted, event.SourceAPI)
		m.UserID, m.Partition, m.Offset, m.QueuedAt = user, int32(k%3), int64(k), ts
		m.DurationMS = 1.5 + float64(k%4)*0.25
		out = append(out, store.Record{Event: e, Message: m})
	}
	for k := range 2 {
		r := deadLettered(fmt.Sprintf("%s-dl-%s-%d", prefix, user, k), event.SourceAPI)
		r.Message.UserID = user
		out = append(out, r)
	}
	return out
}

// interleave merges the records of two users, one of each in turn.
func interleave(a, b []store.Record) []store.Record {
	var out []store.Record
	for i := range max(len(a), len(b)) {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

// writeIn writes records in batches of 7.
func writeIn(t *testing.T, s store.Store, records []store.Record) {
	t.Helper()
	for i := 0; i < len(records); i += 7 {
		write(t, s, records[i:min(i+7, len(records))]...)
	}
}

// erasureView is what the read paths answer, with the row ids (which
// differ between two stores) left out.
type erasureView struct {
	Latest, Messages []string
	Totals           store.Totals
	Rollups          map[string][]store.RollupCount
	Trends           map[string]insights.Trend
	Active           []userDay
	FirstSeen        []store.FirstSeen
	Retention        insights.Retention
	Funnel           insights.Funnel
	// Search is the event ids of a search by each user.
	Search  map[string][]string
	Profile map[string]*store.UserProfile
}

// viewOf reads s as every read path sees it.
func viewOf(t *testing.T, s store.Store) erasureView {
	t.Helper()
	ctx := t.Context()
	v := erasureView{Rollups: map[string][]store.RollupCount{}, Trends: map[string]insights.Trend{},
		Search: map[string][]string{}, Profile: map[string]*store.UserProfile{}}
	v.Latest = eventIDs(latest(t, s, store.MaxLimit))
	v.Messages = messageIDs(messages(t, s, store.MessageFilter{Limit: store.MaxLimit}))
	var err error
	if v.Totals, err = s.Totals(ctx, base); err != nil {
		t.Fatalf("Totals: %v", err)
	}
	// The series count what was stored when, for the charts of the
	// throughput; neither retention nor an erasure takes from them.
	v.Totals.Recent = 0
	from, to := base.Add(-24*time.Hour), base.Add(72*time.Hour)
	for _, w := range store.RollupWidths {
		for _, dim := range append(slices.Clone(store.RollupDims), store.PropertyPrefix+"plan") {
			rows, err := s.RollupCounts(ctx, store.RollupQuery{Width: w, Dim: dim, From: from, To: to})
			if err != nil {
				t.Fatalf("RollupCounts(%d, %q): %v", w, dim, err)
			}
			slices.SortFunc(rows, func(a, b store.RollupCount) int {
				return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.EventType, b.EventType), cmp.Compare(a.Value, b.Value))
			})
			v.Rollups[fmt.Sprintf("%d/%s", w, dim)] = rows
		}
	}
	svc := insights.New(s)
	for _, q := range []insights.TrendQuery{
		{Interval: insights.Hour, Breakdown: "event_type"},
		{Interval: insights.Day, Breakdown: store.DimPage},
		{Interval: insights.Hour, Breakdown: store.PropertyPrefix + "plan"},
		{Interval: insights.Day, Measure: insights.MeasureUsers, Filters: []insights.Filter{{Field: store.FieldPage, Op: insights.OpIsSet}}},
	} {
		q.From, q.To = from, to
		tr, err := svc.Trend(ctx, q)
		if err != nil {
			t.Fatalf("Trend(%+v): %v", q, err)
		}
		v.Trends[fmt.Sprintf("%s/%s/%s", q.Interval, q.Breakdown, q.Measure)] = tr
	}
	v.Active = activeDays(t, s, "", store.Day(from), store.Day(to))
	if err := s.FirstSeenBetween(ctx, from, to, func(f store.FirstSeen) error {
		v.FirstSeen = append(v.FirstSeen, f)
		return nil
	}); err != nil {
		t.Fatalf("FirstSeenBetween: %v", err)
	}
	slices.SortFunc(v.FirstSeen, func(a, b store.FirstSeen) int { return cmp.Compare(a.UserID, b.UserID) })
	if v.Retention, err = svc.Retention(ctx, insights.RetentionQuery{Period: insights.Day, From: from, To: to, Now: to}); err != nil {
		t.Fatalf("Retention: %v", err)
	}
	if v.Funnel, err = svc.Funnel(ctx, insights.FunnelQuery{From: from, To: to, Window: 48 * time.Hour,
		Steps: []insights.FunnelStep{{EventType: event.TypePageView}, {EventType: "purchase"}}}); err != nil {
		t.Fatalf("Funnel: %v", err)
	}
	for _, u := range []string{erasedUser, keptUser} {
		if ex, ok := s.(store.Searcher); ok {
			evs, _, err := ex.SearchEvents(ctx, store.EventQuery{UserID: u, Limit: store.MaxLimit})
			if err != nil {
				t.Fatalf("SearchEvents(%s): %v", u, err)
			}
			v.Search[u] = eventIDs(evs)
		}
		p, err := s.UserProfile(ctx, u, to)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			t.Fatalf("UserProfile(%s): %v", u, err)
		default:
			v.Profile[u] = &p
		}
	}
	return v
}

// sameView compares the views of the store with A erased and of the one
// that never had A, part by part.
func sameView(t *testing.T, step string, got, want erasureView) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("%s: %s =\n%+v\nwithout A ever:\n%+v", step, g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
}

// testEraseUser erases A from a store with A's and B's records and
// compares every read path with a store that only ever had B's; then
// writes of A are refused, and erasing again changes nothing.
func testEraseUser(t *testing.T, s store.Store, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	ref := open(t)
	t.Cleanup(func() { _ = ref.Close() })
	for _, st := range []store.Store{s, ref} {
		if _, err := st.AddRollupKey(ctx, "plan"); err != nil {
			t.Fatalf("AddRollupKey: %v", err)
		}
	}
	a, b := erasureRecords("er", erasedUser, 40), erasureRecords("er", keptUser, 30)
	writeIn(t, s, interleave(a, b))
	writeIn(t, ref, b)
	// A tracking-plan warning whose example is A's event, and one cut
	// (a JSON string) that names A too.
	now := time.Now().UTC().Truncate(time.Microsecond)
	warnings := []store.PlanWarning{
		{SourceID: "src-web", EventType: "purchase", Problem: "/properties/plan/enum", Field: "properties.plan",
			Reason: "bad", Warned: 1, Example: json.RawMessage(`{"user_id":"` + erasedUser + `","event_type":"purchase"}`),
			FirstAt: now, LastAt: now},
		{SourceID: "src-web", EventType: "signup", Problem: store.ProblemUnknownType, Field: "event_type",
			Reason: "not in the plan", Warned: 1, Example: json.RawMessage(`"{\"user_id\":\"` + erasedUser + `\",\"event_…"`),
			FirstAt: now, LastAt: now},
		{SourceID: "src-web", EventType: "page_view", Problem: store.ProblemUnknownType, Field: "event_type",
			Reason: "not in the plan", Warned: 1, Example: json.RawMessage(`{"user_id":"` + keptUser + `"}`),
			FirstAt: now, LastAt: now},
	}
	if err := s.AddPlanWarnings(ctx, warnings); err != nil {
		t.Fatal(err)
	}

	got, err := s.EraseUser(ctx, erasedUser, "admin@example.com")
	if err != nil {
		t.Fatalf("EraseUser: %v", err)
	}
	if want := (store.Erased{UserHash: store.UserHash(erasedUser), Events: 40, Messages: 42}); got != want {
		t.Errorf("EraseUser = %+v, want %+v", got, want)
	}
	after := viewOf(t, s)
	sameView(t, "erased", after, viewOf(t, ref))
	if len(after.Search[erasedUser]) != 0 || after.Profile[erasedUser] != nil {
		t.Errorf("A still found: search %v, profile %+v", after.Search[erasedUser], after.Profile[erasedUser])
	}
	checkSketches(t, s, ref)
	ws, err := s.PlanWarnings(ctx, "", now.Add(-time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		erased := string(w.Example) == store.ErasedExample
		if erased != (w.EventType != "page_view") {
			t.Errorf("warning of %s after the erasure: example %s", w.EventType, w.Example)
		}
	}

	// A redelivery of A's event, a new one, a dead letter of A's: refused,
	// in the batch of B's new records, which are written.
	redelivered := a[0]
	next := erasureRecords("er2", erasedUser, 1)
	later := erasureRecords("er2", keptUser, 3)
	batch := []store.Record{redelivered, later[0], next[0], later[1], next[1], later[3], later[2]}
	out := writeOutcomes(t, s, batch...)
	for i, o := range out {
		want := store.Outcome{Suppressed: true}
		if store.RecordUser(&batch[i]) == keptUser {
			want = store.Outcome{New: true}
		}
		if o != want {
			t.Errorf("record %d (%s) written after the erasure: %+v, want %+v", i, batch[i].Message.EventID, o, want)
		}
	}
	write(t, ref, later[0], later[1], later[3], later[2])
	sameView(t, "written after", viewOf(t, s), viewOf(t, ref))
	checkSketches(t, s, ref)

	// Erasing again finds nothing left; a user never seen is suppressed
	// all the same.
	if got, err := s.EraseUser(ctx, erasedUser, "someone else"); err != nil ||
		got != (store.Erased{UserHash: store.UserHash(erasedUser), Already: true}) {
		t.Errorf("EraseUser again = %+v, %v; want already, nothing deleted", got, err)
	}
	if got, err := s.EraseUser(ctx, "never-seen", "dpo"); err != nil ||
		got != (store.Erased{UserHash: store.UserHash("never-seen")}) {
		t.Errorf("EraseUser(never-seen) = %+v, %v; want suppressed, nothing deleted", got, err)
	}
	unseen := erasureRecords("er3", "never-seen", 1)
	if out := writeOutcomes(t, s, unseen...); out[0] != (store.Outcome{Suppressed: true}) || out[1] != out[0] {
		t.Errorf("records of an erased user never seen: %+v, want suppressed", out)
	}
	sameView(t, "erased again", viewOf(t, s), viewOf(t, ref))
}

// checkSketches compares the sketches of distinct users of the store
// with A erased with those of the store that never had A. A sketch
// cannot take an id off: a bucket with A's events only is gone, one
// that keeps B's still counts A (at most one more than without A).
func checkSketches(t *testing.T, s, ref store.Store) {
	t.Helper()
	for _, w := range store.UniqueWidths {
		q := store.UniqueQuery{Width: w, From: base.Add(-48 * time.Hour), To: base.Add(72 * time.Hour)}
		got, _ := sketchCounts(t, s, q)
		want, _ := sketchCounts(t, ref, q)
		for k, n := range got {
			if m, ok := want[k]; !ok || n < m || n > m+1 {
				t.Errorf("users of width %d in %+v: %d, without A ever %d (kept %v)", w, k, n, m, ok)
			}
		}
		for k := range want {
			if _, ok := got[k]; !ok {
				t.Errorf("users of width %d in %+v: gone, though B's events are kept", w, k)
			}
		}
	}
}

// testSuppressionsPaging lists the suppression list newest first, a page
// at a time.
func testSuppressionsPaging(t *testing.T, s store.Store) {
	ctx := t.Context()
	users := []string{"s-1", "s-2", "s-3", "s-4", "s-5"}
	write(t, s, erasureRecords("sp", "s-2", 3)...)
	start := time.Now()
	for _, u := range users {
		if _, err := s.EraseUser(ctx, u, "by-"+u); err != nil {
			t.Fatalf("EraseUser(%s): %v", u, err)
		}
		// Each erasure gets its own microsecond, so that the pages' bound
		// (before the last one's time) splits them exactly.
		time.Sleep(2 * time.Millisecond)
	}
	var got []store.Suppression
	before := time.Time{}
	for page := 0; ; page++ {
		rows, err := s.Suppressions(ctx, before, 2)
		if err != nil {
			t.Fatalf("Suppressions(%v, 2): %v", before, err)
		}
		if len(rows) == 0 {
			break
		}
		if page > len(users) || len(rows) > 2 {
			t.Fatalf("page %d: %d rows", page, len(rows))
		}
		got = append(got, rows...)
		before = rows[len(rows)-1].ErasedAt
	}
	if len(got) != len(users) {
		t.Fatalf("Suppressions listed %d, want %d: %+v", len(got), len(users), got)
	}
	for i, sp := range got {
		u := users[len(users)-1-i]
		want := store.Suppression{UserHash: store.UserHash(u), ErasedBy: "by-" + u, ErasedAt: sp.ErasedAt}
		if u == "s-2" {
			want.Events, want.Messages = 3, 5
		}
		if sp != want {
			t.Errorf("suppression %d = %+v, want %+v", i, sp, want)
		}
		if sp.ErasedAt.Before(start.Add(-time.Second)) || sp.ErasedAt.After(time.Now().Add(time.Second)) || sp.ErasedAt.Location() != time.UTC {
			t.Errorf("suppression %d erased at %v, not now in UTC", i, sp.ErasedAt)
		}
		if i > 0 && !sp.ErasedAt.Before(got[i-1].ErasedAt) {
			t.Errorf("suppression %d not older than the one before it", i)
		}
	}
	if rows, err := s.Suppressions(ctx, got[2].ErasedAt, 0); err != nil || len(rows) != 2 {
		t.Errorf("Suppressions before the third = %d rows, %v; want 2", len(rows), err)
	}
}

// testEraseUnderConcurrentWrites erases A while writers store batches of
// A's and B's records, 20 times over: whenever the erasure lands, no
// event or processing-log row of A is left, every one of B's is stored,
// and a writer that saw A suppressed never sees A's records stored again.
func testEraseUnderConcurrentWrites(t *testing.T, s store.Store) {
	// Erasure reads a user's events through the explorer
	// (privacy.EraseStore): a store without it cannot erase at all.
	ex, ok := s.(store.Explorer)
	if !ok {
		t.Fatalf("%T has no explorer: erasure, and this test, read a user's rows through it", s)
	}
	const writers, batches, per = 3, 6, 8
	ctx := t.Context()
	for round := range 20 {
		a, b := fmt.Sprintf("cc-a-%02d", round), fmt.Sprintf("cc-b-%02d", round)
		var (
			mu   sync.Mutex
			aIDs []string
		)
		// The erasure starts once writer 0 has written a few batches, a
		// different number each round, while the others go on.
		start := make(chan struct{})
		var g errgroup.Group
		for w := range writers {
			g.Go(func() error {
				suppressed := false
				for k := range batches {
					var batch []store.Record
					for j := range per {
						user := b
						if j%2 == 0 {
							user = a
						}
						id := fmt.Sprintf("cc-%02d-%d-%d-%d", round, w, k, j)
						r := store.Record{Message: message(id, event.TypePageView, "", event.StatusDeadLettered, event.SourceAPI)}
						if j%4 < 2 {
							r.Event = &event.Event{EventID: id, UserID: user, EventType: event.TypePageView, Timestamp: base}
							r.Message.Status = event.StatusCompleted
						}
						r.Message.UserID, r.Message.Partition = user, int32(w)
						if user == a {
							mu.Lock()
							aIDs = append(aIDs, id)
							mu.Unlock()
						}
						batch = append(batch, r)
					}
					out, err := s.Write(ctx, batch)
					if err != nil {
						return err
					}
					for i, o := range out {
						isA := batch[i].Message.UserID == a
						switch {
						case !isA && o != (store.Outcome{New: true}):
							return fmt.Errorf("record %s of B: %+v", batch[i].Message.EventID, o)
						case isA && o.Suppressed:
							suppressed = true
						case isA && (suppressed || o != (store.Outcome{New: true})):
							return fmt.Errorf("record %s of A: %+v (suppressed before: %v)", batch[i].Message.EventID, o, suppressed)
						}
					}
					if w == 0 && k == round%(batches-1) {
						close(start)
					}
				}
				return nil
			})
		}
		var erased store.Erased
		g.Go(func() error {
			<-start
			var err error
			erased, err = s.EraseUser(ctx, a, "test")
			return err
		})
		if err := g.Wait(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if erased.Events == 0 || erased.Messages < erased.Events {
			t.Errorf("round %d: the erasure deleted %+v; want at least the events of the batches before it", round, erased)
		}
		if evs, _, err := ex.SearchEvents(ctx, store.EventQuery{UserID: a, Limit: store.MaxLimit}); err != nil || len(evs) != 0 {
			t.Fatalf("round %d: A's events after the erasure: %d, %v", round, len(evs), err)
		}
		for _, id := range aIDs {
			if m, e, err := ex.Message(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("round %d: A's message %s after the erasure: %+v, %+v, %v", round, id, m, e, err)
			}
		}
		evs, _, err := ex.SearchEvents(ctx, store.EventQuery{UserID: b, Limit: store.MaxLimit})
		if err != nil || len(evs) != writers*batches*per/4 {
			t.Fatalf("round %d: B's events: %d, %v; want %d", round, len(evs), err, writers*batches*per/4)
		}
	}
	// The totals follow the rows: B's records only.
	tot, err := s.Totals(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(20 * writers * batches * per / 4)
	if tot.Events != n || tot.Messages[event.StatusCompleted] != n || tot.Messages[event.StatusDeadLettered] != n {
		t.Errorf("totals %+v; want %d events, %d completed and %d dead-lettered", tot, n, n, n)
	}
}
