package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/alerts"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/postgres"
	"github.com/pulse-dev/pulse/test/pgtest"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// postgresOpener returns a function that opens the test PostgreSQL on a
// schema of this test's own, dropped at its end: each call is another
// process's pool on the same database.
func postgresOpener(t *testing.T) func() *postgres.DB {
	schema := pgtest.FreshSchema(t, "pulse_test_")
	return func() *postgres.DB {
		db, err := postgres.Open(t.Context(), pgtest.URL(), postgres.Options{Schema: schema, MaxConns: 4}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("PostgreSQL is required: %v", err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
}

// Two processes deliver, on one PostgreSQL, many notifications to a
// receiver that takes most of the attempt timeout to answer each: every
// notification is received once, and its one attempt is recorded as
// delivered. (Claimed twenty at a time, the later ones of a claim were
// sent after it had lapsed, and the other process sent them too.)
func TestSlowReceiverGetsEachNotificationOnce(t *testing.T) {
	const (
		notifications = 24
		timeout       = 2 * time.Second
	)
	clk := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	received := map[int]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct{ N int }
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("receiver got %q: %v", b, err)
		}
		mu.Lock()
		received[n.N]++
		mu.Unlock()
		// Slow: a quarter of the timeout passes on the services' clock
		// for each answer (a claim of 2 × timeout + 5 s lapses after 18
		// of them), and a little real time, so that the other process's
		// polls see the claims as they stand while this one sends.
		clk.Add(timeout / 4)
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)

	open := postgresOpener(t)
	db := open()
	now := clk.Now()
	for i := range notifications {
		ev := &store.AlertEvent{RuleID: "lag", RuleName: "Lag", Kind: store.AlertEventRepeat, At: now, Value: 9,
			Status: store.DeliveryPending, URL: rc.URL + "/hook", ContentType: "application/json",
			Body: fmt.Sprintf(`{"n":%d}`, i), NextAttemptAt: now}
		st := store.AlertState{RuleID: "lag", State: store.AlertFiring, Since: now, UpdatedAt: now}
		if ok, err := db.TransitionAlert(t.Context(), int64(i), st, ev); err != nil || !ok {
			t.Fatalf("notification %d: %v %v", i, ok, err)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, s := range []*postgres.DB{db, open()} {
		svc, err := alerts.New(alerts.Config{Now: clk.Now, Interval: time.Hour, AllowNet: loopback,
			Delivery: alerts.DeliveryConfig{Timeout: timeout, Poll: 5 * time.Millisecond}},
			alerts.Deps{Store: s}, nil, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := svc.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	pulsetest.WaitFor(t, 30*time.Second, "every notification settled", func() error {
		h, err := db.AlertHistory(t.Context(), store.AlertHistoryQuery{})
		if err != nil {
			return err
		}
		for _, e := range h {
			if e.Status == store.DeliveryPending {
				return fmt.Errorf("notification %d still pending after %d attempts", e.ID, e.Attempts)
			}
		}
		return nil
	})
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for i := range notifications {
		if received[i] != 1 {
			t.Errorf("notification %d received %d times, want once (all: %v)", i, received[i], received)
		}
	}
	h, err := db.AlertHistory(t.Context(), store.AlertHistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h {
		if e.Status != store.DeliveryDelivered || e.Attempts != 1 || len(e.Deliveries) != 1 {
			t.Errorf("notification %d: %s after %d attempts %+v, want delivered at the one attempt", e.ID, e.Status, e.Attempts, e.Deliveries)
		}
	}
}

// A process that stalls past its claim mid-attempt loses the
// notification to another process: the other's attempt is the one
// recorded, the stalled one's outcome is dropped (not written over the
// delivered row), and it is counted as claim_lost, not delivered.
func TestClaimLostMidAttemptCounted(t *testing.T) {
	const timeout = 2 * time.Second
	clk := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	open := postgresOpener(t)
	db, other := open(), open()
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	newService := func(s *postgres.DB, reg *prometheus.Registry) *alerts.Service {
		svc, err := alerts.New(alerts.Config{Now: clk.Now, Interval: time.Hour, AllowNet: loopback,
			Delivery: alerts.DeliveryConfig{Timeout: timeout, Poll: 5 * time.Millisecond}},
			alerts.Deps{Store: s}, nil, reg)
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	a, b := newService(db, regA), newService(other, regB)
	var mu sync.Mutex
	requests := 0
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		first := requests == 1
		mu.Unlock()
		if first {
			// The first process stalls here past its claim, and the
			// other process takes the notification and delivers it.
			clk.Add(2*timeout + 6*time.Second)
			if err := b.Deliver(r.Context()); err != nil {
				t.Errorf("the other process's delivery: %v", err)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	now := clk.Now()
	ev := &store.AlertEvent{RuleID: "lag", RuleName: "Lag", Kind: store.AlertEventFiring, At: now, Value: 9,
		Status: store.DeliveryPending, URL: rc.URL + "/hook", ContentType: "application/json", Body: `{}`, NextAttemptAt: now}
	st := store.AlertState{RuleID: "lag", State: store.AlertFiring, Since: now, UpdatedAt: now}
	if ok, err := db.TransitionAlert(t.Context(), 0, st, ev); err != nil || !ok {
		t.Fatalf("notification: %v %v", ok, err)
	}
	if err := a.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, err := db.AlertHistory(t.Context(), store.AlertHistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Status != store.DeliveryDelivered || h[0].Attempts != 1 || len(h[0].Deliveries) != 1 {
		t.Fatalf("history %+v; want the one notification delivered at one recorded attempt", h)
	}
	if got := deliveryOutcomes(t, regA); got["claim_lost"] != 1 || got["delivered"] != 0 {
		t.Errorf("stalled process's delivery outcomes = %v, want claim_lost 1 and nothing delivered", got)
	}
	if got := deliveryOutcomes(t, regB); got["delivered"] != 1 {
		t.Errorf("other process's delivery outcomes = %v, want delivered 1", got)
	}
}

// deliveryOutcomes reads pulse_alert_deliveries_total by outcome.
func deliveryOutcomes(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "pulse_alert_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
