package storetest

import (
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// Alert rules round-trip their spec verbatim, update and delete by id, and
// an unknown id is ErrNotFound; deleting a rule deletes its state, not its
// history.
func testAlertRules(t *testing.T, s store.Store) {
	ctx := t.Context()
	if all, err := s.AlertRules(ctx); err != nil || all == nil || len(all) != 0 {
		t.Fatalf("no rules: %v %v, want an empty list", all, err)
	}
	lag := store.AlertRule{ID: "alr_1", Spec: []byte(`{"name":"Lag « 5 s » 日本","signal":"lag_seconds"}`), CreatedAt: base, UpdatedAt: base}
	drop := store.AlertRule{ID: "alr_2", Spec: []byte(`{"name":"signups"}`), CreatedAt: base.Add(time.Second), UpdatedAt: base.Add(time.Second)}
	for _, r := range []store.AlertRule{drop, lag} {
		if err := s.CreateAlertRule(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateAlertRule(ctx, lag); err == nil {
		t.Fatal("a second rule with the same id was stored")
	}
	all, err := s.AlertRules(ctx)
	if err != nil || !reflect.DeepEqual(all, []store.AlertRule{lag, drop}) {
		t.Fatalf("rules read back as %+v %v", all, err)
	}
	at := base.Add(time.Hour)
	got, err := s.UpdateAlertRule(ctx, "alr_1", []byte(`{"name":"lag"}`), at)
	want := store.AlertRule{ID: "alr_1", Spec: []byte(`{"name":"lag"}`), CreatedAt: base, UpdatedAt: at}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("update: %+v %v, want %+v", got, err, want)
	}
	if _, err := s.UpdateAlertRule(ctx, "alr_9", []byte(`{}`), at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of an unknown id: %v, want ErrNotFound", err)
	}

	ev := &store.AlertEvent{RuleID: "alr_2", RuleName: "signups", Kind: store.AlertEventFiring, At: base, Value: 3,
		Status: store.DeliveryNone, NextAttemptAt: base}
	if ok, err := s.TransitionAlert(ctx, 0, store.AlertState{RuleID: "alr_2", State: store.AlertFiring, Since: base, UpdatedAt: base}, ev); err != nil || !ok {
		t.Fatalf("first transition: %v %v", ok, err)
	}
	if err := s.DeleteAlertRule(ctx, "alr_2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAlertRule(ctx, "alr_2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if states, err := s.AlertStates(ctx); err != nil || len(states) != 0 {
		t.Fatalf("states after the rule's delete: %+v %v, want none", states, err)
	}
	if h, err := s.AlertHistory(ctx, store.AlertHistoryQuery{}); err != nil || len(h) != 1 || h[0].RuleID != "alr_2" {
		t.Fatalf("history after the rule's delete: %+v %v, want its one event", h, err)
	}
	if all, err := s.AlertRules(ctx); err != nil || !reflect.DeepEqual(all, []store.AlertRule{want}) {
		t.Fatalf("after delete: %+v %v", all, err)
	}
}

// A state moves on only from the version it was read at: of many
// processes racing to make the same change, exactly one does, and its
// history row is the only one. A silence changes no version and survives
// the transitions.
func testAlertTransitions(t *testing.T, s store.Store) {
	ctx := t.Context()
	pending := store.AlertState{RuleID: "alr_1", State: store.AlertPending, Since: base, Value: 7.5, UpdatedAt: base}
	const racers = 8
	var won atomic.Int32
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			ok, err := s.TransitionAlert(ctx, 0, pending, nil)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d racers made the first transition, want 1", won.Load())
	}

	until := base.Add(time.Hour)
	if err := s.SilenceAlert(ctx, "alr_1", &until); err != nil {
		t.Fatal(err)
	}
	notified := base.Add(time.Minute)
	firing := store.AlertState{RuleID: "alr_1", State: store.AlertFiring, Since: notified, NotifiedAt: &notified, Value: 9, UpdatedAt: notified}
	won.Store(0)
	for i := range racers {
		wg.Go(func() {
			ev := &store.AlertEvent{RuleID: "alr_1", RuleName: "lag", Kind: store.AlertEventFiring, At: notified, Value: float64(i),
				Status: store.DeliveryPending, URL: "http://127.0.0.1:9/hook", ContentType: "application/json", Body: `{"i":1}`, NextAttemptAt: notified}
			ok, err := s.TransitionAlert(ctx, 1, firing, ev)
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
				if ev.ID == 0 {
					t.Error("the winner's event has no id")
				}
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d racers fired, want 1", won.Load())
	}
	if h, err := s.AlertHistory(ctx, store.AlertHistoryQuery{RuleID: "alr_1"}); err != nil || len(h) != 1 {
		t.Fatalf("history: %+v %v, want one firing", h, err)
	}
	states, err := s.AlertStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := firing
	want.Version, want.SilencedUntil = 2, &until
	if len(states) != 1 || !reflect.DeepEqual(states[0], want) {
		t.Fatalf("state %+v, want %+v", states, want)
	}
	if err := s.SilenceAlert(ctx, "alr_1", nil); err != nil {
		t.Fatal(err)
	}
	if states, err := s.AlertStates(ctx); err != nil || states[0].SilencedUntil != nil || states[0].Version != 2 {
		t.Fatalf("after lifting the silence: %+v %v", states, err)
	}
	// A silence set before any evaluation makes a state at version 0,
	// which the first transition takes over.
	if err := s.SilenceAlert(ctx, "alr_2", &until); err != nil {
		t.Fatal(err)
	}
	ok, err := s.TransitionAlert(ctx, 0, store.AlertState{RuleID: "alr_2", State: store.AlertPending, Since: base, UpdatedAt: base}, nil)
	if err != nil || !ok {
		t.Fatalf("first transition of a silenced rule: %v %v", ok, err)
	}
	states, _ = s.AlertStates(ctx)
	if len(states) != 2 || states[1].Version != 1 || states[1].SilencedUntil == nil || !states[1].SilencedUntil.Equal(until) {
		t.Fatalf("silenced rule's state: %+v", states)
	}
}

// A notification is claimed by one caller at a time, until its claim ends
// or its attempt is recorded; each attempt is kept, in order, with the
// outcome it leaves; the history pages newest first; pruning keeps what
// is still to deliver.
func testAlertDeliveries(t *testing.T, s store.Store) {
	ctx := t.Context()
	var ids []int64
	for i := range 5 {
		at := base.Add(time.Duration(i) * time.Minute)
		ev := &store.AlertEvent{RuleID: "alr_1", RuleName: "lag", Kind: store.AlertEventFiring, At: at, Value: float64(i),
			Status: store.DeliveryPending, URL: "http://127.0.0.1:9/hook", ContentType: "application/json",
			Body: `{"text":"lag « 5 s »"}`, NextAttemptAt: at}
		st := store.AlertState{RuleID: "alr_1", State: store.AlertFiring, Since: at, UpdatedAt: at}
		if ok, err := s.TransitionAlert(ctx, int64(i), st, ev); err != nil || !ok {
			t.Fatalf("transition %d: %v %v", i, ok, err)
		}
		ids = append(ids, ev.ID)
	}
	now := base.Add(10 * time.Minute)
	var claimed sync.Map
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := s.ClaimAlertNotifications(ctx, now, now.Add(time.Minute), 10)
			if err != nil {
				t.Error(err)
			}
			for _, e := range got {
				if e.Claim == "" {
					t.Errorf("notification %d claimed without a claim", e.ID)
				}
				if _, dup := claimed.LoadOrStore(e.ID, e.Claim); dup {
					t.Errorf("notification %d claimed twice", e.ID)
				}
			}
		})
	}
	wg.Wait()
	n := 0
	claimed.Range(func(any, any) bool { n++; return true })
	if n != 5 {
		t.Fatalf("%d notifications claimed, want 5", n)
	}
	if again, err := s.ClaimAlertNotifications(ctx, now.Add(30*time.Second), now.Add(time.Hour), 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed again before the claim ended: %+v %v", again, err)
	}

	claimOf := func(id int64) string { c, _ := claimed.Load(id); return c.(string) }
	first := ids[0]
	fail := store.AlertDelivery{EventID: first, At: now, StatusCode: 503, Error: "503 Service Unavailable", DurationMS: 1.5}
	retry := now.Add(5 * time.Second)
	if err := s.RecordAlertDelivery(ctx, claimOf(first), fail, store.AlertOutcome{Status: store.DeliveryPending, NextAttemptAt: retry}); err != nil {
		t.Fatal(err)
	}
	// Recording ends the claim: the notification is due again at its
	// next attempt, not at the claim's end.
	if got, err := s.ClaimAlertNotifications(ctx, retry.Add(-time.Second), retry.Add(time.Minute), 10); err != nil || len(got) != 0 {
		t.Fatalf("claimed before its next attempt: %+v %v", got, err)
	}
	got, err := s.ClaimAlertNotifications(ctx, retry, retry.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || got[0].ID != first || got[0].Attempts != 1 {
		t.Fatalf("claim at the next attempt: %+v %v", got, err)
	}
	okAttempt := store.AlertDelivery{EventID: first, At: retry, StatusCode: 200, DurationMS: 2}
	if err := s.RecordAlertDelivery(ctx, got[0].Claim, okAttempt, store.AlertOutcome{Status: store.DeliveryDelivered, NextAttemptAt: retry}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAlertDelivery(ctx, "no-such-claim", store.AlertDelivery{EventID: 1 << 40, At: now}, store.AlertOutcome{Status: store.DeliveryFailed}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("attempt of an unknown notification: %v, want ErrNotFound", err)
	}
	for _, id := range ids[1:4] {
		if err := s.RecordAlertDelivery(ctx, claimOf(id), store.AlertDelivery{EventID: id, At: now, Error: "connection refused"},
			store.AlertOutcome{Status: store.DeliveryFailed, NextAttemptAt: now}); err != nil {
			t.Fatal(err)
		}
	}

	page, err := s.AlertHistory(ctx, store.AlertHistoryQuery{RuleID: "alr_1", Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != ids[4] || page[1].ID != ids[3] {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = s.AlertHistory(ctx, store.AlertHistoryQuery{Before: page[1].ID, Limit: 10})
	if err != nil || len(page) != 3 || page[2].ID != first {
		t.Fatalf("second page: %+v %v", page, err)
	}
	e := page[2]
	fail.EventID, okAttempt.EventID = first, first
	if e.Status != store.DeliveryDelivered || e.Attempts != 2 || e.Body != `{"text":"lag « 5 s »"}` ||
		!reflect.DeepEqual(e.Deliveries, []store.AlertDelivery{fail, okAttempt}) {
		t.Fatalf("delivered notification: %+v", e)
	}
	if other, err := s.AlertHistory(ctx, store.AlertHistoryQuery{RuleID: "alr_9"}); err != nil || len(other) != 0 {
		t.Fatalf("another rule's history: %+v %v", other, err)
	}

	// Pruning before the fifth event deletes the four settled ones, not
	// the fifth (still pending, and newer).
	n64, err := s.PruneAlertHistory(ctx, base.Add(time.Hour))
	if err != nil || n64 != 4 {
		t.Fatalf("pruned %d, %v; want 4", n64, err)
	}
	left, err := s.AlertHistory(ctx, store.AlertHistoryQuery{})
	if err != nil || len(left) != 1 || left[0].ID != ids[4] || len(left[0].Deliveries) != 0 {
		t.Fatalf("after pruning: %+v %v", left, err)
	}
}

// A process whose claim lapsed while it was still sending, and was taken
// over by another that delivered the notification, cannot record its own
// late outcome over it: the delivered row and its one attempt stand, and
// so they do when the late outcome comes before the other's (the late
// process may record only while the notification is still under its
// claim).
func testAlertStaleClaim(t *testing.T, s store.Store) {
	ctx := t.Context()
	ev := &store.AlertEvent{RuleID: "alr_1", RuleName: "lag", Kind: store.AlertEventFiring, At: base, Value: 9,
		Status: store.DeliveryPending, URL: "http://127.0.0.1:9/hook", ContentType: "application/json", Body: `{}`, NextAttemptAt: base}
	if ok, err := s.TransitionAlert(ctx, 0, store.AlertState{RuleID: "alr_1", State: store.AlertFiring, Since: base, UpdatedAt: base}, ev); err != nil || !ok {
		t.Fatalf("transition: %v %v", ok, err)
	}
	slow, err := s.ClaimAlertNotifications(ctx, base, base.Add(time.Minute), 1)
	if err != nil || len(slow) != 1 {
		t.Fatalf("first claim: %+v %v", slow, err)
	}
	// The first claim lapses; a second process takes the notification.
	later := base.Add(2 * time.Minute)
	fresh, err := s.ClaimAlertNotifications(ctx, later, later.Add(time.Minute), 1)
	if err != nil || len(fresh) != 1 || fresh[0].Claim == slow[0].Claim {
		t.Fatalf("claim after the first lapsed: %+v %v", fresh, err)
	}
	// The late outcome while the second process still sends: refused.
	lateRetry := store.AlertDelivery{EventID: ev.ID, At: base, Error: "context deadline exceeded", DurationMS: 60000}
	retry := store.AlertOutcome{Status: store.DeliveryPending, NextAttemptAt: later.Add(time.Second)}
	if err := s.RecordAlertDelivery(ctx, slow[0].Claim, lateRetry, retry); !errors.Is(err, store.ErrClaimLost) {
		t.Fatalf("the lapsed claim recorded while another held it: %v, want ErrClaimLost", err)
	}
	delivered := store.AlertDelivery{EventID: ev.ID, At: later, StatusCode: 204, DurationMS: 3}
	if err := s.RecordAlertDelivery(ctx, fresh[0].Claim, delivered, store.AlertOutcome{Status: store.DeliveryDelivered, NextAttemptAt: later}); err != nil {
		t.Fatalf("the current claim's outcome: %v", err)
	}
	// The late outcome after the delivery: refused too, by either claim.
	for _, c := range []string{slow[0].Claim, fresh[0].Claim} {
		if err := s.RecordAlertDelivery(ctx, c, lateRetry, retry); !errors.Is(err, store.ErrClaimLost) {
			t.Fatalf("a late retry over a delivered notification: %v, want ErrClaimLost", err)
		}
	}
	h, err := s.AlertHistory(ctx, store.AlertHistoryQuery{})
	if err != nil || len(h) != 1 {
		t.Fatalf("history: %+v %v", h, err)
	}
	if e := h[0]; e.Status != store.DeliveryDelivered || e.Attempts != 1 || !reflect.DeepEqual(e.Deliveries, []store.AlertDelivery{delivered}) {
		t.Fatalf("after the late outcomes: %s, %d attempts, %+v; want delivered with its one attempt", e.Status, e.Attempts, e.Deliveries)
	}
	if again, err := s.ClaimAlertNotifications(ctx, later.Add(time.Hour), later.Add(2*time.Hour), 1); err != nil || len(again) != 0 {
		t.Fatalf("a delivered notification claimed again: %+v %v", again, err)
	}
}
