package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/alerts"
	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/pipeline"
)

// startAlerts runs a server like startOps, with the alert rules
// evaluated every second and their deliveries retried within a second.
func startAlerts(t *testing.T, edit func(*config.Config)) *running {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.HTTP.Addr, cfg.Broker.Addr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.Alerts.Interval = time.Second
	// The receivers listen on loopback, which webhooks may not reach
	// unless allowed.
	cfg.Alerts.AllowNet = "127.0.0.1/32"
	if edit != nil {
		edit(&cfg)
	}
	bc := broker.Config{Addr: cfg.Broker.Addr, DataDir: dir, Topics: []broker.Topic{
		{Name: cfg.Kafka.Topic, Partitions: 3}, {Name: cfg.Kafka.DLQTopic, Partitions: 3},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, Options{
		HTTP: true, Broker: &bc,
		Pipeline: pipeline.Config{RetryBase: 5 * time.Millisecond, RetryMax: 10 * time.Millisecond, CommitInterval: 50 * time.Millisecond},
		Monitor:  monitor.Config{SampleInterval: 100 * time.Millisecond, HistoryInterval: 200 * time.Millisecond},
		Alerts: alerts.Config{Delivery: alerts.DeliveryConfig{Timeout: time.Second, BackoffBase: 100 * time.Millisecond,
			BackoffMax: 300 * time.Millisecond, Budget: time.Minute, Poll: 50 * time.Millisecond}},
	}, testLogger(t))
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("server did not stop within 60s")
		}
	})
	return &running{Server: s, stop: func() error { return nil }}
}

// hookReceiver is a real local webhook receiver that can be down (503).
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	down   bool
	bodies []alerts.Notification
	tries  int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.tries++
		if h.down {
			http.Error(w, "restarting", http.StatusServiceUnavailable)
			return
		}
		var n alerts.Notification
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("receiver got %s: %v", b, err)
		}
		h.bodies = append(h.bodies, n)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setDown(down bool) { h.mu.Lock(); h.down = down; h.mu.Unlock() }

func (h *hookReceiver) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, n := range h.bodies {
		out = append(out, n.Kind+":"+n.RuleName)
	}
	return out
}

type historyAnswer struct {
	Events []struct {
		ID         int64  `json:"id"`
		RuleID     string `json:"rule_id"`
		Kind       string `json:"kind"`
		Status     string `json:"status"`
		Deliveries []struct {
			StatusCode int    `json:"status_code"`
			Error      string `json:"error"`
		} `json:"deliveries"`
	} `json:"events"`
}

// Through the whole server: a rule made over the API fires on the group
// monitor's reading, its webhook is retried while the receiver is down
// and gets it once when it is back, it is not sent again while the rule
// stays firing (throttled by the repeat interval), it resolves when the
// rule changes, and both moments are markers on the lag chart. A rules
// file's rule runs beside it and cannot be changed over the API.
func TestAlertsThroughTheServer(t *testing.T) {
	hook := newHookReceiver(t)
	file := filepath.Join(t.TempDir(), "alerts.yaml")
	yaml := fmt.Sprintf("rules:\n  - id: lag\n    name: Lag from the file\n    signal: lag_seconds\n    op: above\n    threshold: 3600\n    webhook_url: %s\n", hook.srv.URL)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := startAlerts(t, func(c *config.Config) { c.Alerts.File = file })
	hook.setDown(true)

	// Three consumers run: "fewer than 5" fires at the first evaluation.
	rule := map[string]any{"name": "Consumers gone", "signal": "consumers", "op": "below", "threshold": 5,
		"repeat": "1h", "webhook_url": hook.srv.URL + "/hook"}
	var created struct{ Rule alerts.RuleView }
	if code, raw := call(t, "POST", r.url("/api/alerts/rules/"), "", rule, &created); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, raw)
	}
	id := created.Rule.ID

	var h historyAnswer
	eventually(t, 20*time.Second, "the firing tried at least twice while the receiver is down", func() (bool, string) {
		getJSON(t, r.url("/api/alerts/history/?rule="+id), &h)
		return len(h.Events) == 1 && len(h.Events[0].Deliveries) >= 2, fmt.Sprintf("%+v", h)
	})
	if d := h.Events[0].Deliveries[0]; d.StatusCode != 503 || !strings.Contains(d.Error, "restarting") || h.Events[0].Status != "pending" {
		t.Fatalf("attempt while down: %+v", h.Events[0])
	}
	hook.setDown(false)
	eventually(t, 20*time.Second, "the firing delivered once the receiver is back", func() (bool, string) {
		getJSON(t, r.url("/api/alerts/history/?rule="+id), &h)
		return h.Events[0].Status == "delivered", fmt.Sprintf("%+v", h)
	})
	// Several evaluations later the rule still fires and nothing more
	// is sent: the repeat interval is an hour.
	evals := func() float64 { return counterValue(t, r, "pulse_alert_evaluations_total") }
	start := evals()
	eventually(t, 20*time.Second, "three more evaluations", func() (bool, string) {
		return evals() >= start+6, fmt.Sprint(evals())
	})
	if k := hook.kinds(); len(k) != 1 || k[0] != "firing:Consumers gone" {
		t.Fatalf("received %q, want the one firing", k)
	}

	// Made stricter than the three consumers, it resolves.
	rule["threshold"] = 1
	if code, raw := call(t, "PUT", r.url("/api/alerts/rules/"+id+"/"), "", rule, nil); code != http.StatusOK {
		t.Fatalf("update: %d %s", code, raw)
	}
	eventually(t, 20*time.Second, "the resolution delivered", func() (bool, string) {
		k := hook.kinds()
		return len(k) == 2 && k[1] == "resolved:Consumers gone", fmt.Sprint(k)
	})
	var mh monitor.History
	eventually(t, 10*time.Second, "the firing and the resolution on the lag chart", func() (bool, string) {
		getJSON(t, r.url("/api/consumers/history/"), &mh)
		var kinds []event.MarkerKind
		for _, m := range mh.Markers {
			if m.Kind == event.MarkerAlertFiring || m.Kind == event.MarkerAlertResolved {
				kinds = append(kinds, m.Kind)
			}
		}
		return len(kinds) == 2 && kinds[0] == event.MarkerAlertFiring && kinds[1] == event.MarkerAlertResolved, fmt.Sprint(mh.Markers)
	})

	// The file's rule is listed, evaluated (lag is far below an hour)
	// and refused to the API.
	var list struct{ Rules []alerts.RuleView }
	getJSON(t, r.url("/api/alerts/rules/"), &list)
	if len(list.Rules) != 2 || list.Rules[0].ID != "lag" || list.Rules[0].Source != "file" || !list.Rules[0].Enabled {
		t.Fatalf("rules %+v", list.Rules)
	}
	if code, raw := call(t, "DELETE", r.url("/api/alerts/rules/lag/"), "", nil, nil); code != http.StatusConflict || !strings.Contains(raw, "rules file") {
		t.Fatalf("delete of the file's rule: %d %s", code, raw)
	}
	if k := hook.kinds(); len(k) != 2 {
		t.Fatalf("the file's rule sent %q", k)
	}
}

// counterValue reads a counter from the server's /metrics.
func counterValue(t *testing.T, r *running, name string) float64 {
	t.Helper()
	mfs, err := r.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

// A bad rules file refuses to start, naming the file, the rule and the
// field, before anything is opened.
func TestBadAlertsFileRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(file, []byte("rules:\n  - {id: lag, name: Lag, signal: lag_seconds, op: above, threshold: 5, for: soon}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.HTTP.Addr, cfg.Broker.Addr, cfg.DataDir, cfg.Alerts.File = "127.0.0.1:0", "127.0.0.1:0", dir, file
	bc := broker.Config{Addr: cfg.Broker.Addr, DataDir: dir}
	_, err := New(t.Context(), cfg, Options{HTTP: true, Broker: &bc}, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), `"soon"`) {
		t.Fatalf("New with a bad rules file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pulse.db")); !os.IsNotExist(err) {
		t.Fatalf("the store was opened before the file was checked: %v", err)
	}
}
