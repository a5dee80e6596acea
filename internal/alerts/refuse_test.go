package alerts_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/alerts"
	"github.com/pulse-dev/pulse/internal/store"
)

// pending adds one pending notification to url, as a rule stored before
// the address rules (or made while they allowed it) leaves it.
func pending(t *testing.T, db store.Store, version int64, url string, at time.Time) int64 {
	t.Helper()
	ev := &store.AlertEvent{RuleID: "lag", RuleName: "Lag", Kind: store.AlertEventFiring, At: at, Value: 9,
		Status: store.DeliveryPending, URL: url, ContentType: "application/json", Body: `{"kind":"firing"}`, NextAttemptAt: at}
	st := store.AlertState{RuleID: "lag", State: store.AlertFiring, Since: at, UpdatedAt: at}
	if ok, err := db.TransitionAlert(t.Context(), version, st, ev); err != nil || !ok {
		t.Fatalf("notification to %s: %v %v", url, ok, err)
	}
	return ev.ID
}

func newService(t *testing.T, db store.Store, clk *clock, allow []netip.Prefix, rules ...alerts.Rule) (*alerts.Service, error) {
	return alerts.New(alerts.Config{Now: clk.Now, AllowNet: allow, Delivery: alerts.DeliveryConfig{Timeout: 2 * time.Second}},
		alerts.Deps{Store: db, FileRules: rules}, nil, prometheus.NewRegistry())
}

// A webhook to this host is refused unless allowed: by its IP address in
// the URL, and by a name that resolves to it ("localhost": the check is
// on the address dialled, after the name is resolved). The receiver
// listening there gets nothing; each notification fails at its first
// attempt, with an error that names the refusal and the setting.
func TestWebhookToLoopbackRefused(t *testing.T) {
	rc := newReceiver(t)
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":"):]
	db := openSQLite(t)
	clk := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	urls := []string{rc.srv.URL + "/hook", "http://localhost" + port + "/hook", "http://[::ffff:127.0.0.1]" + port + "/hook"}
	for i, u := range urls {
		pending(t, db, int64(i), u, clk.Now())
	}
	svc, err := newService(t, db, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	hits := rc.hits
	rc.mu.Unlock()
	if hits != 0 {
		t.Fatalf("the receiver on loopback got %d requests, want none", hits)
	}
	h, err := svc.History(t.Context(), store.AlertHistoryQuery{})
	if err != nil || len(h) != len(urls) {
		t.Fatalf("history %+v %v", h, err)
	}
	for _, e := range h {
		if e.Status != store.DeliveryFailed || len(e.Deliveries) != 1 {
			t.Errorf("%s: %s after %d attempts, want failed at the first", e.URL, e.Status, len(e.Deliveries))
			continue
		}
		msg := e.Deliveries[0].Error
		if !strings.Contains(msg, "127.0.0.1 is a loopback address, which webhooks may not reach") || !strings.Contains(msg, "--alerts-allow-net") ||
			strings.Contains(msg, "/hook") {
			t.Errorf("%s: error %q, want the refusal naming the address and the setting, and not the URL's path", e.URL, msg)
		}
		if strings.Contains(e.URL, "localhost") && !strings.Contains(msg, "dial tcp 127.0.0.1") {
			t.Errorf("localhost: error %q, want the dialled address refused", msg)
		}
	}

	// Allowed, the same receiver gets each, by address and by name.
	db = openSQLite(t)
	for i, u := range urls[:2] {
		pending(t, db, int64(i), u, clk.Now())
	}
	svc, err = newService(t, db, clk, loopback)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(rc.got()); n != 2 {
		t.Fatalf("allowed: the receiver got %d notifications, want 2", n)
	}
	h, _ = svc.History(t.Context(), store.AlertHistoryQuery{})
	for _, e := range h {
		if e.Status != store.DeliveryDelivered {
			t.Errorf("allowed %s: %s %+v", e.URL, e.Status, e.Deliveries)
		}
	}
}

// A notification to a private or link-local IP address (the cloud
// metadata service) fails at once, without a connection; a rule naming
// one is refused when it is made, in the console or the rules file,
// unless an allowed range holds it; a host name is left to the dial.
func TestWebhookAddressRefusedAtRuleCreation(t *testing.T) {
	db := openSQLite(t)
	clk := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	pending(t, db, 0, "http://169.254.169.254/latest/meta-data/iam", clk.Now())
	pending(t, db, 1, "https://10.0.0.5:8443/hook", clk.Now())
	svc, err := newService(t, db, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, _ := svc.History(t.Context(), store.AlertHistoryQuery{})
	for _, e := range h {
		if e.Status != store.DeliveryFailed || len(e.Deliveries) != 1 || !strings.Contains(e.Deliveries[0].Error, "which webhooks may not reach") {
			t.Errorf("%s: %s %+v, want failed at once, refused", e.URL, e.Status, e.Deliveries)
		}
	}

	rule := alerts.Rule{Name: "Lag", Signal: alerts.SignalLagSeconds, Op: alerts.OpAbove, Threshold: 5, Enabled: true}
	for url, want := range map[string]string{
		"http://169.254.169.254/latest/meta-data/": "webhook_url: 169.254.169.254 is a link-local (cloud metadata) address",
		"http://127.0.0.1:9000/hook":               "webhook_url: 127.0.0.1 is a loopback address",
		"http://[fd00::5]/hook":                    "webhook_url: fd00::5 is a private address",
		"https://192.168.1.10/hook":                "webhook_url: 192.168.1.10 is a private address",
		"http://0.0.0.0:80/":                       "webhook_url: 0.0.0.0 is an unspecified address",
	} {
		r := rule
		r.WebhookURL = url
		_, err := svc.Create(t.Context(), r)
		var invalid *alerts.InvalidError
		if !errors.As(err, &invalid) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--alerts-allow-net") {
			t.Errorf("create with %s: %v, want invalid: %s", url, err, want)
		}
	}
	r := rule
	r.WebhookURL = "http://hooks.internal.example/x"
	if _, err := svc.Create(t.Context(), r); err != nil {
		t.Errorf("a host name refused when made (it is checked when dialled): %v", err)
	}

	allowed, err := newService(t, openSQLite(t), clk, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	if err != nil {
		t.Fatal(err)
	}
	r.WebhookURL = "http://10.1.2.3/slack-proxy"
	if _, err := allowed.Create(t.Context(), r); err != nil {
		t.Errorf("an allowed address refused: %v", err)
	}

	file := lagRule()
	file.WebhookURL = "http://127.0.0.1:9000/hook"
	file.Normalize()
	if _, err := newService(t, openSQLite(t), clk, nil, file); err == nil || !strings.Contains(err.Error(), `alert rule "lag": webhook_url: 127.0.0.1 is a loopback address`) {
		t.Errorf("a rules file's rule to loopback: %v, want refused at start", err)
	}
}

// A refusing receiver's long answer is kept short in the history: its
// status and at most 100 bytes of printable text (the escape character
// dropped), marked as cut.
func TestLongRefusalKeptShort(t *testing.T) {
	r := lagRule()
	r.For, r.Repeat = 0, 0
	f := newFixture(t, r)
	f.rc.set("400-long")
	f.group.setLag(9)
	f.tick(t)
	h, _ := f.svc.History(t.Context(), store.AlertHistoryQuery{})
	if len(h) != 1 || len(h[0].Deliveries) != 1 {
		t.Fatalf("history %+v", h)
	}
	want := "400 Bad Request: [2J" + strings.Repeat("x", 97) + "…"
	if got := h[0].Deliveries[0].Error; !strings.HasPrefix(got, "refused: ") || !strings.HasSuffix(got, want) {
		t.Fatalf("error %q, want it to end %q", got, want)
	}
}
