package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/pipeline"
)

// running is a Server under test with the means to stop it.
type running struct {
	*Server
	stop func() error
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// start runs `pulse serve` in-process on dir: embedded broker and HTTP on
// free ports, SQLite under dir, three consumers.
func start(t *testing.T, dir string) *running {
	t.Helper()
	return startWith(t, dir, nil)
}

// startWith is start with the configuration changed by with.
func startWith(t *testing.T, dir string, with func(*config.Config)) *running {
	t.Helper()
	cfg := config.Default()
	cfg.HTTP.Addr, cfg.Broker.Addr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	if with != nil {
		with(&cfg)
	}
	bc := broker.Config{Addr: cfg.Broker.Addr, DataDir: dir, Topics: []broker.Topic{
		{Name: cfg.Kafka.Topic, Partitions: 3}, {Name: cfg.Kafka.DLQTopic, Partitions: 3},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, Options{
		HTTP: true, Broker: &bc,
		Pipeline: pipeline.Config{RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
	}, testLogger(t))
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			return fmt.Errorf("server did not stop within 60s")
		}
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return &running{Server: s, stop: stop}
}

func (r *running) url(path string) string { return "http://" + r.Addr() + path }

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", url, body, err)
	}
}

func postEvent(t *testing.T, r *running, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(r.url("/api/events/create/"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", body, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v (last: %s)", what, within, last)
}

type queueStats struct {
	Total        int64 `json:"total"`
	Completed    int64 `json:"completed"`
	DeadLettered int64 `json:"dead_lettered"`
	Processing   int64 `json:"processing"`
	Retrying     int64 `json:"retrying"`
}

type consumerMetrics struct {
	TotalLag   int64 `json:"total_lag"`
	Partitions []struct {
		Partition       int32 `json:"partition"`
		CommittedOffset int64 `json:"committed_offset"`
		EndOffset       int64 `json:"end_offset"`
	} `json:"partitions"`
}

// storedCount is the number of event rows, counted in the database.
func storedCount(t *testing.T, r *running) int64 {
	t.Helper()
	totals, err := r.store.Totals(context.Background(), time.Now())
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	return totals.Events
}

// waitSettled waits until n events are stored and the group has committed
// everything on the topic, then checks nothing more arrives.
func waitSettled(t *testing.T, r *running, n int64) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("%d events stored and committed", n), func() (bool, string) {
		var cm consumerMetrics
		getJSON(t, r.url("/api/consumer_metrics/"), &cm)
		got := storedCount(t, r)
		return got >= n && cm.TotalLag == 0, fmt.Sprintf("stored %d, lag %d", got, cm.TotalLag)
	})
	if got := storedCount(t, r); got != n {
		t.Fatalf("stored %d events, want exactly %d", got, n)
	}
}

// waitQueueCompleted waits until the processing-log statistics count n
// completed messages, and fails if they count more. The statistics follow
// the live bus, after the store's commit and the group's offset commit,
// so they may trail waitSettled by a moment.
func waitQueueCompleted(t *testing.T, r *running, n int64) {
	t.Helper()
	var qs queueStats
	eventually(t, 30*time.Second, fmt.Sprintf("queue stats completed %d", n), func() (bool, string) {
		getJSON(t, r.url("/api/queue/stats/"), &qs)
		return qs.Completed >= n, fmt.Sprintf("completed %d: %+v", qs.Completed, qs)
	})
	if qs.Completed != n {
		t.Fatalf("queue stats completed %d, want %d: %+v", qs.Completed, n, qs)
	}
}

func produce(t *testing.T, r *running, events []*event.Event) {
	t.Helper()
	cfg := config.Default()
	cfg.Kafka.BootstrapServers = r.BrokerAddr()
	p, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: cfg.Kafka, Name: "test"}, testLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(events) > 0 {
		n := min(len(events), 1000)
		if err := p.ProduceBatch(ctx, events[:n], event.SourceProducer, "test"); err != nil {
			t.Fatalf("ProduceBatch: %v", err)
		}
		events = events[n:]
	}
}

func generate(n int, seed uint64) []*event.Event {
	g := generator.New(generator.Config{Seed: seed})
	out := make([]*event.Event, n)
	for i := range out {
		e := g.Next()
		out[i] = &e
	}
	return out
}

func TestTenThousandEventsBecomeExactlyTenThousandRows(t *testing.T) {
	r := start(t, t.TempDir())
	produce(t, r, generate(10_000, 1))
	waitSettled(t, r, 10_000)
	waitQueueCompleted(t, r, 10_000)
	var latest struct {
		Events []event.Stored `json:"events"`
		Stats  struct {
			TotalEvents int64 `json:"total_events"`
		} `json:"stats"`
	}
	getJSON(t, r.url("/api/events/latest/"), &latest)
	if latest.Stats.TotalEvents != 10_000 || len(latest.Events) != 50 {
		t.Fatalf("latest: total %d, %d events", latest.Stats.TotalEvents, len(latest.Events))
	}
}

func TestRestartKeepsEveryEventAndStoresNothingTwice(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir)
	produce(t, r, generate(1500, 2))
	waitSettled(t, r, 1500)
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	r = start(t, dir)
	// Statistics are rebuilt from the store, and nothing is reprocessed.
	var qs queueStats
	getJSON(t, r.url("/api/queue/stats/"), &qs)
	if qs.Completed != 1500 {
		t.Fatalf("after restart queue stats completed %d, want 1500", qs.Completed)
	}
	produce(t, r, generate(500, 3))
	waitSettled(t, r, 2000)
	waitQueueCompleted(t, r, 2000)
}

func TestKcatSeedFormatEventsAppearInLatest(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed (Debian package kcat; .ci/run installs it)")
	}
	r := start(t, t.TempDir())
	var in bytes.Buffer
	for i := range 5 {
		fmt.Fprintf(&in, "user_%03d:button_click|{\"user_id\":\"user_%03d\",\"event_type\":\"button_click\",\"element_id\":\"btn_kcat_%d\",\"timestamp\":\"2024-01-15T10:30:0%dZ\"}\n", i, i, i, i)
	}
	in.WriteString("user_bad:oops|{not json}\n")
	cmd := exec.Command(kcat, "-P", "-b", r.BrokerAddr(), "-t", "user_events", "-K", "|")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v: %s", err, out)
	}
	eventually(t, 30*time.Second, "kcat events in /api/events/latest/", func() (bool, string) {
		var latest struct {
			Events []event.Stored `json:"events"`
		}
		getJSON(t, r.url("/api/events/latest/"), &latest)
		seen := 0
		for _, e := range latest.Events {
			if strings.HasPrefix(e.ElementID, "btn_kcat_") {
				seen++
				if e.Source != event.SourceKafka || !event.IsDerived(e.EventID) {
					t.Fatalf("kcat event stored as %+v", e)
				}
			}
		}
		return seen == 5, fmt.Sprintf("%d of 5", seen)
	})
	eventually(t, 30*time.Second, "malformed kcat record dead-lettered", func() (bool, string) {
		var m struct {
			Messages []event.Message `json:"messages"`
		}
		getJSON(t, r.url("/api/queue/messages/?status=dead_lettered"), &m)
		return len(m.Messages) == 1 && strings.Contains(m.Messages[0].Error, "JSON"), fmt.Sprintf("%+v", m.Messages)
	})
}

func TestFailingEventIsDeadLetteredWhileOthersFlow(t *testing.T) {
	r := start(t, t.TempDir())
	bad := postEvent(t, r, `{"user_id":"user_x","event_type":"button_click","element_id":"button_5","should_fail":true}`)
	good := postEvent(t, r, `{"user_id":"user_y","event_type":"button_click","element_id":"button_1"}`)
	eventually(t, 30*time.Second, "good stored and bad dead-lettered", func() (bool, string) {
		var m struct {
			Messages []event.Message `json:"messages"`
		}
		getJSON(t, r.url("/api/queue/messages/"), &m)
		states := map[string]event.Message{}
		for _, msg := range m.Messages {
			states[msg.EventID] = msg
		}
		b, g := states[bad["event_id"].(string)], states[good["event_id"].(string)]
		return b.Status == event.StatusDeadLettered && g.Status == event.StatusCompleted,
			fmt.Sprintf("bad %s, good %s", b.Status, g.Status)
	})
	// The DLQ record names where it came from.
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.BrokerAddr()), kgo.ConsumeTopics("user_events_dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fetches := cl.PollFetches(ctx)
	if err := fetches.Err0(); err != nil {
		t.Fatalf("poll DLQ: %v", err)
	}
	recs := fetches.Records()
	if len(recs) != 1 {
		t.Fatalf("%d DLQ records, want 1", len(recs))
	}
	h := map[string]string{}
	for _, kv := range recs[0].Headers {
		h[kv.Key] = string(kv.Value)
	}
	if h["dlq_original_topic"] != "user_events" || h["dlq_attempts"] != "4" || !strings.Contains(h["dlq_error"], "should_fail") ||
		h["dlq_original_offset"] != fmt.Sprint(bad["offset"]) {
		t.Fatalf("DLQ headers %v, produced at %v", h, bad)
	}
}

func TestWebSocketGetsInitialDataThenNewEvents(t *testing.T) {
	r := start(t, t.TempDir())
	postEvent(t, r, `{"user_id":"user_a","event_type":"page_view","element_id":"nav_home"}`)
	waitSettled(t, r, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+r.Addr()+"/ws/events/", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	read := func() map[string]json.RawMessage {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		return m
	}
	first := read()
	if string(first["type"]) != `"initial_data"` || !bytes.Contains(first["events"], []byte("nav_home")) {
		t.Fatalf("first frame: %v", first)
	}
	id := postEvent(t, r, `{"user_id":"user_b","event_type":"button_click","element_id":"button_2"}`)["event_id"].(string)
	for {
		m := read()
		typ := string(m["type"])
		if (typ == `"new_event"` && bytes.Contains(m["event"], []byte(id))) ||
			(typ == `"new_events"` && bytes.Contains(m["events"], []byte(id))) {
			return
		}
	}
}

// TestNewReportsAStoreThatWillNotOpen: a database that cannot be opened is
// an error naming it, and the cleanup of what New had started does not
// trip over the store that never opened.
func TestNewReportsAStoreThatWillNotOpen(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.HTTP.Addr, cfg.Broker.Addr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.Store.DatabaseURL = filepath.Join(blocker, "pulse.db")
	bc := broker.Config{Addr: cfg.Broker.Addr, DataDir: dir, Topics: []broker.Topic{{Name: cfg.Kafka.Topic, Partitions: 1}}}
	s, err := New(t.Context(), cfg, Options{HTTP: true, Broker: &bc}, testLogger(t))
	if err == nil {
		s.closeResources()
		t.Fatal("New succeeded with a database path under a file")
	}
	if !strings.Contains(err.Error(), "pulse.db") {
		t.Fatalf("error does not name the database: %v", err)
	}
}
