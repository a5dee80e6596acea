package alerts_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pulse-dev/pulse/internal/alerts"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// group stands for the monitor's latest sample, which the test sets.
type group struct {
	mu   sync.Mutex
	view monitor.ConsumersView
}

func (g *group) Consumers(context.Context) (monitor.ConsumersView, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.view, nil
}

func (g *group) setLag(s float64) {
	g.mu.Lock()
	g.view.MaxLagSeconds = s
	g.mu.Unlock()
}

// receiver is a real local HTTP receiver. While down it drops the
// connection without an answer (as a receiver restarting does) or
// answers 503; it keeps what it received when up.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	mode   string // "up", "drop", "503", "400", "400-long"
	bodies []map[string]any
	hits   int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{mode: "up"}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.hits++
		switch rc.mode {
		case "drop":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case "503":
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		case "400":
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		case "400-long":
			http.Error(w, "\x1b[2J"+strings.Repeat("x", 4000), http.StatusBadRequest)
			return
		}
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &m); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("receiver got %q (%s): %v", b, r.Header.Get("Content-Type"), err)
		}
		rc.bodies = append(rc.bodies, m)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) set(mode string) { rc.mu.Lock(); rc.mode = mode; rc.mu.Unlock() }

func (rc *receiver) got() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.bodies...)
}

func (rc *receiver) kinds() []string {
	var out []string
	for _, b := range rc.got() {
		out = append(out, b["kind"].(string))
	}
	return out
}

// loopback lets the webhooks reach the tests' receivers, which listen on
// 127.0.0.1 (refused by default).
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func openSQLite(t *testing.T) *sqlite.DB {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

type fixture struct {
	db    *sqlite.DB
	clock *clock
	group *group
	rc    *receiver
	reg   *prometheus.Registry
	svc   *alerts.Service
}

func newFixture(t *testing.T, rules ...alerts.Rule) *fixture {
	f := &fixture{db: openSQLite(t), clock: &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}, group: &group{},
		rc: newReceiver(t), reg: prometheus.NewRegistry()}
	for i := range rules {
		if rules[i].WebhookURL == "" {
			rules[i].WebhookURL = f.rc.srv.URL + "/hook"
		}
		rules[i].Normalize()
	}
	svc, err := alerts.New(alerts.Config{Now: f.clock.Now, AllowNet: loopback, Delivery: alerts.DeliveryConfig{
		Timeout: 2 * time.Second, BackoffBase: time.Second, BackoffMax: 4 * time.Second, Budget: time.Minute,
	}}, alerts.Deps{Store: f.db, Group: f.group, Markers: f.db, FileRules: rules}, nil, f.reg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// tick evaluates, then delivers what is due, at the clock's time.
func (f *fixture) tick(t *testing.T) {
	t.Helper()
	if err := f.svc.Evaluate(t.Context()); err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	if err := f.svc.Deliver(t.Context()); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
}

func lagRule() alerts.Rule {
	return alerts.Rule{ID: "lag", Name: "Consumers behind", Signal: alerts.SignalLagSeconds, Op: alerts.OpAbove,
		Threshold: 5, For: alerts.Duration(20 * time.Second), Hysteresis: 1, Repeat: alerts.Duration(time.Minute), Enabled: true}
}

// Fire after the for duration, notify again only each repeat interval,
// hold through the hysteresis band, resolve; each notification delivered
// once, recorded in the history and marked on the charts.
func TestFireThrottleResolve(t *testing.T) {
	f := newFixture(t, lagRule())
	f.group.setLag(7)
	for range 3 { // 0 s, 10 s, 20 s: fires at 20 s
		f.tick(t)
		f.clock.Add(10 * time.Second)
	}
	if k := f.rc.kinds(); len(k) != 1 || k[0] != "firing" {
		t.Fatalf("after 20 s above: %q, want one firing", k)
	}
	first := f.rc.got()[0]
	if first["rule_id"] != "lag" || first["value"] != 7.0 || first["state"] != "firing" || first["text"] == "" {
		t.Fatalf("firing body %v", first)
	}
	for range 5 { // 30 s .. 70 s: throttled until 80 s
		f.tick(t)
		f.clock.Add(10 * time.Second)
	}
	if k := f.rc.kinds(); len(k) != 1 {
		t.Fatalf("within the repeat interval: %q, want the one firing", k)
	}
	f.tick(t) // 80 s
	if k := f.rc.kinds(); len(k) != 2 || k[1] != "repeat" {
		t.Fatalf("after the repeat interval: %q", k)
	}
	f.group.setLag(4.5) // below 5, above 5-1: still firing
	f.clock.Add(10 * time.Second)
	f.tick(t)
	f.group.setLag(3)
	f.clock.Add(10 * time.Second)
	f.tick(t)
	if k := f.rc.kinds(); len(k) != 3 || k[2] != "resolved" {
		t.Fatalf("after recovering: %q", k)
	}
	h, err := f.svc.History(t.Context(), store.AlertHistoryQuery{RuleID: "lag"})
	if err != nil || len(h) != 3 {
		t.Fatalf("history %+v %v", h, err)
	}
	for _, e := range h {
		if e.Status != store.DeliveryDelivered || len(e.Deliveries) != 1 || e.Deliveries[0].StatusCode != 200 {
			t.Fatalf("history event %+v", e)
		}
	}
	ms, err := f.db.Markers(t.Context(), f.clock.Now().Add(-time.Hour), f.clock.Now().Add(time.Second), 10)
	if err != nil || len(ms) != 2 || ms[0].Kind != event.MarkerAlertFiring || ms[1].Kind != event.MarkerAlertResolved {
		t.Fatalf("markers %+v %v", ms, err)
	}
	if n := testutil.ToFloat64(counter(t, f.reg, "pulse_alert_firings_total")); n != 1 {
		t.Fatalf("firings counted %v, want 1", n)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: "copy"}, func() float64 {
				var sum float64
				for _, m := range mf.GetMetric() {
					sum += m.GetCounter().GetValue()
				}
				return sum
			})
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// A receiver that drops connections, then answers 503, then comes back
// gets the notification once, within the retry budget; every attempt is
// in the history. A receiver down past the budget fails it for good, and
// a 400 is not tried again.
func TestReceiverDownThenUp(t *testing.T) {
	r := lagRule()
	r.For, r.Repeat = 0, 0
	f := newFixture(t, r)
	f.rc.set("drop")
	f.group.setLag(9)
	f.tick(t) // fires; the first attempt is dropped
	for _, mode := range []string{"drop", "503", "503"} {
		f.rc.set(mode)
		f.clock.Add(5 * time.Second) // past any backoff (at most 4 s)
		if err := f.svc.Deliver(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.rc.got()) != 0 {
		t.Fatal("delivered while down")
	}
	f.rc.set("up")
	// Not due yet: the attempt waits for its backoff, not for a poll.
	if err := f.svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(5 * time.Second)
	if err := f.svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if k := f.rc.kinds(); len(k) != 1 || k[0] != "firing" {
		t.Fatalf("after the receiver came back: %q, want one firing", k)
	}
	h, _ := f.svc.History(t.Context(), store.AlertHistoryQuery{})
	if len(h) != 1 || h[0].Status != store.DeliveryDelivered || len(h[0].Deliveries) != 5 {
		t.Fatalf("history %+v", h)
	}
	d := h[0].Deliveries
	// The history is read by viewers: a connection error names the
	// receiver's host, never the webhook's path (often its secret).
	if strings.Contains(d[0].Error, "/hook") || !strings.Contains(d[0].Error, alerts.HostOf(f.rc.srv.URL+"/hook")) {
		t.Fatalf("a dropped attempt's error %q shows more of the URL than its host", d[0].Error)
	}
	if d[0].StatusCode != 0 || d[0].Error == "" || d[2].StatusCode != 503 || d[2].Error != "503 Service Unavailable: down for maintenance" || d[4].StatusCode != 200 || d[4].Error != "" {
		t.Fatalf("attempts %+v", d)
	}

	// Down past the budget (a minute here): failed, no further attempt.
	f.group.setLag(1)
	f.clock.Add(10 * time.Second)
	f.tick(t) // resolved, delivered
	f.rc.set("503")
	f.group.setLag(9)
	f.clock.Add(10 * time.Second)
	f.tick(t)
	for range 20 {
		f.clock.Add(5 * time.Second)
		if err := f.svc.Deliver(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	h, _ = f.svc.History(t.Context(), store.AlertHistoryQuery{Limit: 1})
	if h[0].Status != store.DeliveryFailed || len(h[0].Deliveries) < 5 || len(h[0].Deliveries) > 16 {
		t.Fatalf("past the budget: %s after %d attempts", h[0].Status, len(h[0].Deliveries))
	}
	last := h[0].Deliveries[len(h[0].Deliveries)-1].At
	if last.Sub(h[0].At) > time.Minute {
		t.Fatalf("attempted %v after the event, past the one-minute budget", last.Sub(h[0].At))
	}

	// A 400 is the receiver refusing the body: one attempt.
	f.rc.set("400")
	f.group.setLag(1)
	f.clock.Add(10 * time.Second)
	f.tick(t)
	f.clock.Add(10 * time.Second)
	if err := f.svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, _ = f.svc.History(t.Context(), store.AlertHistoryQuery{Limit: 1})
	if h[0].Kind != store.AlertEventResolved || h[0].Status != store.DeliveryFailed || len(h[0].Deliveries) != 1 || h[0].Deliveries[0].StatusCode != 400 {
		t.Fatalf("refused: %+v", h[0])
	}
}

// A silenced rule changes state and records it, and sends nothing; the
// silence lifted, a repeat is sent.
func TestSilence(t *testing.T) {
	r := lagRule()
	r.For = 0
	f := newFixture(t, r)
	until := f.clock.Now().Add(90 * time.Second)
	if _, err := f.svc.Silence(t.Context(), "lag", &until); err != nil {
		t.Fatal(err)
	}
	f.group.setLag(9)
	f.tick(t)
	for range 2 {
		f.clock.Add(30 * time.Second)
		f.tick(t)
	}
	if len(f.rc.got()) != 0 {
		t.Fatalf("sent while silenced: %v", f.rc.got())
	}
	v, err := f.svc.Rule(t.Context(), "lag")
	if err != nil || v.State != store.AlertFiring || v.SilencedUntil == nil {
		t.Fatalf("silenced rule %+v %v", v, err)
	}
	h, _ := f.svc.History(t.Context(), store.AlertHistoryQuery{})
	if len(h) != 1 || !h[0].Silenced || h[0].Status != store.DeliveryNone {
		t.Fatalf("silenced history %+v", h)
	}
	f.clock.Add(30 * time.Second)
	f.tick(t) // 120 s: the silence is over
	if k := f.rc.kinds(); len(k) != 1 || k[0] != "repeat" {
		t.Fatalf("after the silence: %q", k)
	}
	if _, err := f.svc.Silence(t.Context(), "nope", &until); err != alerts.ErrNotFound {
		t.Fatalf("silence of an unknown rule: %v", err)
	}
}

// A count of one event type over a window, and the same as a percentage
// of the window before, read from the rollups; a Slack-compatible body is
// {"text": ...}.
func TestEventCountRules(t *testing.T) {
	few := alerts.Rule{ID: "signups", Name: "Signups fell", Signal: alerts.SignalEventCount, EventType: "signup",
		Window: alerts.Duration(time.Minute), Op: alerts.OpBelow, Threshold: 3, Enabled: true, WebhookFormat: alerts.FormatSlack}
	drop := alerts.Rule{ID: "signups-drop", Name: "Signups halved", Signal: alerts.SignalEventCount, EventType: "signup",
		Compare: alerts.ComparePreviousPeriod, Window: alerts.Duration(time.Minute), Op: alerts.OpBelow, Threshold: 50, Enabled: true}
	f := newFixture(t, few, drop)
	start := f.clock.Now() // on a minute
	// Minute 0: 4 signups; minute 1: 1 signup and 5 page views.
	var batch []store.Record
	add := func(i int, typ string, at time.Time) {
		id := typ + "-" + at.Format("150405") + "-" + string(rune('a'+i))
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: "u" + id, EventType: typ, ElementID: "e", Timestamp: at},
			Message: event.Message{EventID: id, EventType: typ, UserID: "u" + id, Status: event.StatusCompleted,
				Source: event.SourceAPI, Topic: "user_events", Partition: 0, Offset: int64(len(batch)), QueuedAt: at},
		})
	}
	for i := range 4 {
		add(i, "signup", start.Add(time.Duration(i)*time.Second))
	}
	add(0, "signup", start.Add(time.Minute))
	for i := range 5 {
		add(i, "page_view", start.Add(time.Minute+time.Duration(i)*time.Second))
	}
	if _, err := f.db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute + 30*time.Second) // minute 0 complete: 4 signups, not below 3
	f.tick(t)
	if len(f.rc.got()) != 0 {
		t.Fatalf("fired on minute 0: %v", f.rc.got())
	}
	f.clock.Add(time.Minute) // minute 1 complete: 1 signup, 25% of minute 0
	f.tick(t)
	got := f.rc.got()
	if len(got) != 2 {
		t.Fatalf("want both rules fired, got %v", got)
	}
	var slack, generic map[string]any
	for _, b := range got {
		if _, ok := b["kind"]; ok {
			generic = b
		} else {
			slack = b
		}
	}
	if len(slack) != 1 || slack["text"] == "" || generic["value"] != 25.0 || generic["rule_id"] != "signups-drop" {
		t.Fatalf("slack %v, generic %v", slack, generic)
	}
}

// Two processes evaluating the same rules on one PostgreSQL, at the same
// times, notify each change once.
func TestTwoProcessesNotifyOnce(t *testing.T) {
	open := postgresOpener(t)
	clk := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	g := &group{}
	rc := newReceiver(t)
	r := lagRule()
	r.For, r.Repeat, r.WebhookURL = 0, alerts.Duration(time.Minute), rc.srv.URL
	r.Normalize()
	var svcs []*alerts.Service
	for range 2 {
		svc, err := alerts.New(alerts.Config{Now: clk.Now, AllowNet: loopback}, alerts.Deps{Store: open(), Group: g, FileRules: []alerts.Rule{r}}, nil, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	both := func(fn func(*alerts.Service) error) {
		var wg sync.WaitGroup
		for _, s := range svcs {
			wg.Go(func() {
				if err := fn(s); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for _, lag := range []float64{9, 9, 9, 9, 1, 1, 9} {
		g.setLag(lag)
		both(func(s *alerts.Service) error { return s.Evaluate(t.Context()) })
		both(func(s *alerts.Service) error { return s.Deliver(t.Context()) })
		clk.Add(30 * time.Second)
	}
	// Fired at 0 s, repeated at 60 s, resolved at 120 s, fired at 180 s.
	if k := rc.kinds(); len(k) != 4 || k[0] != "firing" || k[1] != "repeat" || k[2] != "resolved" || k[3] != "firing" {
		t.Fatalf("two processes sent %q", k)
	}
}

// A process that claimed a notification and died before recording its
// attempt (kill -9 mid-delivery) leaves it claimed: once the claim ends,
// another process delivers it.
func TestClaimOfADeadProcessLapses(t *testing.T) {
	r := lagRule()
	r.For, r.Repeat = 0, 0
	f := newFixture(t, r)
	f.group.setLag(9)
	if err := f.svc.Evaluate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	// The dead process's claim, as Deliver makes it (2 × timeout + 5 s).
	claimed, err := f.db.ClaimAlertNotifications(t.Context(), now, now.Add(9*time.Second), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	if err := f.svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(f.rc.got()) != 0 {
		t.Fatal("delivered while another process holds the claim")
	}
	f.clock.Add(10 * time.Second)
	if err := f.svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if k := f.rc.kinds(); len(k) != 1 || k[0] != "firing" {
		t.Fatalf("after the claim lapsed: %q", k)
	}
}
