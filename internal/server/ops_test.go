package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/api"
	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/deadletter"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/load"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/pipeline"
	"github.com/pulse-dev/pulse/internal/record"
)

// startOps runs a server like start, with the operator console sampling
// fast; edit adjusts the configuration first.
func startOps(t *testing.T, edit func(*config.Config)) *running {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.HTTP.Addr, cfg.Broker.Addr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
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
		Monitor:  monitor.Config{SampleInterval: 100 * time.Millisecond, HistoryInterval: 200 * time.Millisecond, StallAfter: time.Second},
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

// call sends a JSON request and decodes a JSON answer into out (when not
// nil); it returns the status and the raw body.
func call(t *testing.T, method, url, token string, body any, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

func TestConsumersAndOrderingWhileARecordIsDelayed(t *testing.T) {
	r := startOps(t, nil)
	ack := postEvent(t, r, `{"user_id":"user_slow","event_type":"page_view","element_id":"nav","delay_seconds":3}`)
	part := int32(ack["partition"].(float64))
	off := int64(ack["offset"].(float64))

	var held monitor.OrderingView
	eventually(t, 20*time.Second, "the delayed record holds its key", func() (bool, string) {
		getJSON(t, r.url("/api/ordering/"), &held)
		// The three members may still be settling their partitions when
		// the key is first held.
		for _, h := range held.HeldKeys {
			if h.Key == "user_slow:page_view" && h.Partition == part && h.Offset == off && h.ConsumerID != "" && len(held.Partitions) == 3 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", held)
	})
	if held.HeldKeysTotal < 1 {
		t.Fatalf("ordering: %+v", held)
	}

	var v monitor.ConsumersView
	eventually(t, 20*time.Second, "lag and lag_seconds on the held partition of a stable group", func() (bool, string) {
		getJSON(t, r.url("/api/consumers/"), &v)
		if v.State != "Stable" || len(v.Members) != 3 {
			return false, fmt.Sprintf("state %s, %d members", v.State, len(v.Members))
		}
		for _, m := range v.Members {
			if !m.Local || m.Processed == nil || len(m.Partitions) != 1 {
				return false, fmt.Sprintf("member %+v", m)
			}
		}
		for _, p := range v.Partitions {
			if p.Partition == part && p.Lag > 0 && p.LagSeconds > 0 && p.Member != "" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", v.Partitions)
	})
	if v.Group != "dashboard_consumer_group" || v.MaxLagSeconds <= 0 || v.TotalLag < 1 {
		t.Fatalf("consumers: %+v", v)
	}
	// Held for 3 s with lag, the partition's commit stalls (after 1 s here).
	eventually(t, 20*time.Second, "a commit_stall marker", func() (bool, string) {
		var h monitor.History
		getJSON(t, r.url("/api/consumers/history/"), &h)
		for _, m := range h.Markers {
			if m.Kind == event.MarkerCommitStall && strings.Contains(m.Detail, fmt.Sprintf("partition %d:", part)) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", h.Markers)
	})

	eventually(t, 30*time.Second, "lag back to zero once the record is done", func() (bool, string) {
		getJSON(t, r.url("/api/consumers/"), &v)
		ok := v.TotalLag == 0 && v.MaxLagSeconds == 0
		for _, p := range v.Partitions {
			ok = ok && p.Lag == 0 && p.LagSeconds == 0
		}
		return ok, fmt.Sprintf("%+v", v)
	})
	if v.FreshnessSeconds <= 0 || v.FreshnessSeconds > 60 {
		t.Fatalf("freshness %v", v.FreshnessSeconds)
	}
	getJSON(t, r.url("/api/ordering/"), &held)
	if held.HeldKeysTotal != 0 || len(held.HeldKeys) != 0 {
		t.Fatalf("ordering after: %+v", held)
	}
}

// deadLetter produces n failing events and waits until all are
// dead-lettered.
func deadLetter(t *testing.T, r *running, n int) []*event.Event {
	t.Helper()
	events := make([]*event.Event, n)
	for i := range events {
		events[i] = &event.Event{UserID: fmt.Sprintf("user_%d", i), EventType: "button_click", ElementID: "btn_fail", ShouldFail: true}
	}
	produce(t, r, events)
	eventually(t, 30*time.Second, fmt.Sprintf("%d dead letters", n), func() (bool, string) {
		q := r.stats.Queue()
		return q.DeadLettered >= int64(n), fmt.Sprintf("%+v", q)
	})
	// The dead letters are visible once the DLQ transaction that commits
	// their offsets ends, up to a commit interval after their rows.
	eventually(t, 10*time.Second, fmt.Sprintf("%d dead letters listed", n), func() (bool, string) {
		var list deadletter.View
		getJSON(t, r.url("/api/dlq/?limit=1"), &list)
		return list.Total >= int64(n), fmt.Sprintf("total %d", list.Total)
	})
	return events
}

func TestHistoryMarksADLQBurstLive(t *testing.T) {
	r := startOps(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+r.Addr()+"/ws/events/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)

	deadLetter(t, r, 15)
	var h monitor.History
	eventually(t, 20*time.Second, "a dlq_burst marker and history points", func() (bool, string) {
		getJSON(t, r.url("/api/consumers/history/"), &h)
		burst := false
		for _, m := range h.Markers {
			burst = burst || m.Kind == event.MarkerDLQBurst
		}
		return burst && len(h.Points) >= 2, fmt.Sprintf("%d points, markers %+v", len(h.Points), h.Markers)
	})
	if h.IntervalSeconds != 0.2 || h.Points[0].T.After(h.Points[len(h.Points)-1].T) {
		t.Fatalf("history: %+v", h)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("no marker frame on the WebSocket: %v", err)
		}
		var f struct {
			Type   string       `json:"type"`
			Marker event.Marker `json:"marker"`
		}
		// Other markers (a commit stall while the burst is retried, a
		// rebalance while the group settles) may come first.
		if json.Unmarshal(data, &f) == nil && f.Type == "marker" && f.Marker.Kind == event.MarkerDLQBurst {
			if !strings.Contains(f.Marker.Detail, "dead-lettered") {
				t.Fatalf("marker frame %s", data)
			}
			break
		}
	}
}

func TestDLQListAndReplay(t *testing.T) {
	r := startOps(t, nil)
	deadLetter(t, r, 5)
	// One record no consumer can decode, from a foreign producer.
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.BrokerAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "user_events", Key: []byte("k"), Value: []byte(`{"event_type":"page_view"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "6 dead letters", func() (bool, string) {
		return r.stats.Queue().DeadLettered == 6, fmt.Sprintf("%+v", r.stats.Queue())
	})

	// A dead letter is visible once the transaction that commits its
	// offset ends, up to a commit interval after its row is stored.
	var list deadletter.View
	eventually(t, 5*time.Second, "6 dead letters listed", func() (bool, string) {
		getJSON(t, r.url("/api/dlq/?limit=100"), &list)
		return list.Total == 6, fmt.Sprintf("%+v", list)
	})
	if list.Total != 6 || len(list.Groups) != 2 || list.Groups[0].Kind != "simulated failure" || list.Groups[0].Count != 5 ||
		list.Groups[1].Kind != "user_id: is required" || list.Groups[1].Count != 1 {
		t.Fatalf("dlq: %+v", list)
	}
	// The total counts the whole topic; the groups only the newest limit.
	var newest deadletter.View
	getJSON(t, r.url("/api/dlq/?limit=2"), &newest)
	listed := 0
	for _, g := range newest.Groups {
		listed += g.Count
	}
	if newest.Total != 6 || listed != 2 {
		t.Fatalf("dlq limit 2: %+v", newest)
	}
	sim := list.Groups[0].Records
	for i, d := range sim {
		if d.OriginalTopic != "user_events" || d.Attempts != 4 || d.EventID == "" || d.ConsumerID == "" || d.Replayed ||
			!strings.Contains(d.Payload, "should_fail") || d.ID != fmt.Sprintf("%d:%d", d.Partition, d.Offset) {
			t.Fatalf("record %+v", d)
		}
		if i > 0 && d.Timestamp.After(sim[i-1].Timestamp) {
			t.Fatalf("not newest first: %+v", sim)
		}
	}
	if inv := list.Groups[1].Records[0]; inv.EventID != "" || inv.Key != "k" || inv.OriginalOffset < 0 {
		t.Fatalf("invalid record %+v", inv)
	}

	// Nothing selected, a bad id, a bad rate: 400.
	for _, body := range []any{map[string]any{}, map[string]any{"ids": []string{"x"}}, map[string]any{"all": true, "rate": 5000},
		map[string]any{"kind": "no such kind"}, map[string]any{"ids": []string{"0:999"}}} {
		if code, raw := call(t, "POST", r.url("/api/dlq/replay/"), "", body, nil); code != http.StatusBadRequest {
			t.Fatalf("replay %v: %d %s", body, code, raw)
		}
	}

	// A dry run replays nothing.
	storedBefore := storedCount(t, r)
	var res deadletter.ReplayResult
	if code, raw := call(t, "POST", r.url("/api/dlq/replay/"), "", map[string]any{"ids": []string{sim[0].ID}, "dry_run": true}, &res); code != 200 ||
		!res.DryRun || res.Count != 1 || res.Records[0].EventID != sim[0].EventID {
		t.Fatalf("dry run: %d %s", code, raw)
	}

	// One record: replayed without its should_fail, it completes.
	if code, raw := call(t, "POST", r.url("/api/dlq/replay/"), "", map[string]any{"ids": []string{sim[0].ID}}, &res); code != 200 || res.Count != 1 || res.DryRun {
		t.Fatalf("replay one: %d %s", code, raw)
	}
	waitCompleted := func(ids []string) {
		t.Helper()
		eventually(t, 30*time.Second, fmt.Sprintf("%d replayed events completed", len(ids)), func() (bool, string) {
			var m struct {
				Messages []event.Message `json:"messages"`
			}
			getJSON(t, r.url("/api/queue/messages/?status=completed&limit=1000"), &m)
			done := map[string]bool{}
			for _, msg := range m.Messages {
				done[msg.EventID] = true
			}
			for _, id := range ids {
				if !done[id] {
					return false, "missing " + id
				}
			}
			return true, ""
		})
	}
	waitCompleted([]string{sim[0].EventID})
	// On the main topic: same key, no should_fail, the replay headers.
	rc, err := kgo.NewClient(kgo.SeedBrokers(r.BrokerAddr()), kgo.ConsumeTopics("user_events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var replayed *kgo.Record
	for replayed == nil {
		fs := rc.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll main topic: %v", err)
		}
		fs.EachRecord(func(kr *kgo.Record) {
			for _, h := range kr.Headers {
				if h.Key == record.HeaderReplayOf {
					replayed = kr
				}
			}
		})
	}
	hdr := map[string]string{}
	for _, h := range replayed.Headers {
		hdr[h.Key] = string(h.Value)
	}
	if hdr[record.HeaderReplayOf] != fmt.Sprintf("user_events_dlq/%d/%d", sim[0].Partition, sim[0].Offset) || hdr[record.HeaderReplayedAt] == "" ||
		hdr["source"] != "producer" || hdr["dlq_error"] != "" || string(replayed.Key) != sim[0].Key ||
		strings.Contains(string(replayed.Value), "should_fail") || !strings.Contains(string(replayed.Value), sim[0].EventID) {
		t.Fatalf("replayed record: key %s, value %s, headers %v", replayed.Key, replayed.Value, hdr)
	}
	if got := storedCount(t, r); got != storedBefore+1 {
		t.Fatalf("stored %d events, want %d", got, storedBefore+1)
	}
	getJSON(t, r.url("/api/dlq/"), &list)
	for _, d := range list.Groups[0].Records {
		if d.Replayed != (d.ID == sim[0].ID) {
			t.Fatalf("replayed flag: %+v", d)
		}
	}

	// The whole kind skips the one replayed already.
	if code, raw := call(t, "POST", r.url("/api/dlq/replay/"), "", map[string]any{"kind": "simulated failure", "rate": 1000}, &res); code != 200 ||
		res.Count != 4 || res.SkippedReplayed != 1 {
		t.Fatalf("replay kind: %d %s", code, raw)
	}
	// Again: every one is replayed now, which the refusal says.
	code, raw := call(t, "POST", r.url("/api/dlq/replay/"), "", map[string]any{"kind": "simulated failure"}, nil)
	if code != http.StatusBadRequest || !strings.Contains(raw, "5 matching dead letters were replayed already") {
		t.Fatalf("replay kind again: %d %s", code, raw)
	}
	// Asked for, they go again (and dedup: each event is stored once).
	if code, raw := call(t, "POST", r.url("/api/dlq/replay/"), "", map[string]any{"kind": "simulated failure", "include_replayed": true, "rate": 1000}, &res); code != 200 ||
		res.Count != 5 || res.SkippedReplayed != 0 {
		t.Fatalf("replay kind with include_replayed: %d %s", code, raw)
	}
	getJSON(t, r.url("/api/dlq/"), &list)
	for _, d := range list.Groups[0].Records {
		if !d.Replayed || d.ReplayedAt == nil {
			t.Fatalf("after replaying the kind: %+v", d)
		}
	}
	var ids []string
	for _, d := range sim {
		ids = append(ids, d.EventID)
	}
	waitCompleted(ids)
	eventually(t, 30*time.Second, "every replay settled and counted once", func() (bool, string) {
		var cm consumerMetrics
		getJSON(t, r.url("/api/consumer_metrics/"), &cm)
		got := storedCount(t, r)
		total := r.stats.Snapshot().TotalEvents
		return cm.TotalLag == 0 && got == storedBefore+5 && total == got, fmt.Sprintf("lag %d, stored %d, stats %d", cm.TotalLag, got, total)
	})
}

func TestLoadRunStartProgressStop(t *testing.T) {
	r := startOps(t, nil)
	url := r.url("/api/load/")
	var idle map[string]any
	getJSON(t, url, &idle)
	if idle["status"] != "idle" {
		t.Fatalf("before any run: %v", idle)
	}
	if code, raw := call(t, "DELETE", url, "", nil, nil); code != http.StatusNotFound {
		t.Fatalf("stop without a run: %d %s", code, raw)
	}
	for _, bad := range []map[string]any{
		{"events_per_second": 0, "duration_seconds": 10},
		{"events_per_second": 10, "duration_seconds": 4000},
		{"events_per_second": 10, "duration_seconds": 10, "failure_rate": 2},
		{"events_per_second": 10, "duration_seconds": 10, "mix": map[string]float64{"Bad Type": 1}},
	} {
		if code, raw := call(t, "POST", url, "", bad, nil); code != http.StatusBadRequest {
			t.Fatalf("start %v: %d %s", bad, code, raw)
		}
	}

	var run load.Run
	if code, raw := call(t, "POST", url, "", map[string]any{"events_per_second": 200, "duration_seconds": 60}, &run); code != http.StatusCreated ||
		run.Status != load.Running || run.Target != 12000 {
		t.Fatalf("start: %d %s", code, raw)
	}
	if code, raw := call(t, "POST", url, "", map[string]any{"events_per_second": 10, "duration_seconds": 10}, nil); code != http.StatusConflict {
		t.Fatalf("second start: %d %s", code, raw)
	}
	eventually(t, 20*time.Second, "progress and a live rate", func() (bool, string) {
		getJSON(t, url, &run)
		return run.Acked >= 100 && run.Progress > 0 && run.CurrentRate > 0, fmt.Sprintf("%+v", run)
	})
	// Paced: about 200/s, not as fast as the producer can go.
	if el := time.Since(run.StartedAt).Seconds(); float64(run.Sent) > 200*el+50 {
		t.Fatalf("sent %d in %.1fs at 200/s", run.Sent, el)
	}
	if code, raw := call(t, "DELETE", url, "", nil, &run); code != 200 || run.Status != load.Stopped || run.Sent >= run.Target {
		t.Fatalf("stop: %d %s", code, raw)
	}

	if run.Failed != 0 || run.Error != "" {
		t.Fatalf("a stopped run counts its buffered events as failed: %+v", run)
	}
	// Stopped at once, with events handed to the producer and none
	// acknowledged yet: still stopped, not failed, and nothing failed.
	if code, raw := call(t, "POST", url, "", map[string]any{"events_per_second": 10000, "duration_seconds": 60}, &run); code != http.StatusCreated {
		t.Fatalf("third run: %d %s", code, raw)
	}
	if code, raw := call(t, "DELETE", url, "", nil, &run); code != 200 || run.Status != load.Stopped || run.Failed != 0 || run.Acked != run.Sent {
		t.Fatalf("stop at once: %d %s", code, raw)
	}

	// A short run with a mix of a seed type and a custom one completes.
	mix := map[string]float64{"user_login": 1, "checkout_done": 1}
	if code, raw := call(t, "POST", url, "", map[string]any{"events_per_second": 300, "duration_seconds": 1, "mix": mix}, &run); code != http.StatusCreated {
		t.Fatalf("second run: %d %s", code, raw)
	}
	eventually(t, 20*time.Second, "the short run completes", func() (bool, string) {
		getJSON(t, url, &run)
		return run.Status == load.Completed, fmt.Sprintf("%+v", run)
	})
	if run.Sent != 300 || run.Acked != 300 || run.Progress != 1 || run.Mix["checkout_done"] != 1 {
		t.Fatalf("completed run: %+v", run)
	}
	eventually(t, 30*time.Second, "the mix's events stored", func() (bool, string) {
		types := r.stats.Snapshot().EventTypes
		return types["checkout_done"] > 50 && types["user_login"] > 50, fmt.Sprintf("%v", types)
	})
}

func TestAdminRoutesNeedTheTokenBeyondLoopback(t *testing.T) {
	r := startOps(t, func(c *config.Config) {
		c.HTTP.Addr = "0.0.0.0:0"
		c.HTTP.AdminToken = "s3cret"
	})
	_, port, _ := net.SplitHostPort(r.Addr())
	base := "http://127.0.0.1:" + port
	body := map[string]any{"events_per_second": 5, "duration_seconds": 1}
	for _, tc := range []struct{ method, path, token string }{
		{"POST", "/api/load/", ""}, {"POST", "/api/load/", "wrong"},
		{"DELETE", "/api/load/", ""}, {"POST", "/api/dlq/replay/", ""},
	} {
		if code, raw := call(t, tc.method, base+tc.path, tc.token, body, nil); code != http.StatusUnauthorized {
			t.Fatalf("%s %s with %q: %d %s", tc.method, tc.path, tc.token, code, raw)
		}
	}
	var run load.Run
	if code, raw := call(t, "POST", base+"/api/load/", "s3cret", body, &run); code != http.StatusCreated {
		t.Fatalf("with the token: %d %s", code, raw)
	}
	// Beyond loopback, reads need credentials too.
	if code, raw := call(t, "GET", base+"/api/consumers/", "", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("read without the token: %d %s", code, raw)
	}
	var v monitor.ConsumersView
	if code, raw := call(t, "GET", base+"/api/consumers/", "s3cret", nil, &v); code != http.StatusOK || v.Topic != "user_events" {
		t.Fatalf("consumers: %d %s %+v", code, raw, v)
	}
}

// TestEveryDocumentedRouteIsServed requests each route of the OpenAPI
// document from a real assembly: none may be unrouted. The explorer's
// routes are checked once the store implements the explorer.
func TestEveryDocumentedRouteIsServed(t *testing.T) {
	r := startOps(t, nil)
	unrouted := func(method, path string) (bool, string) {
		code, raw := call(t, method, r.url(strings.ReplaceAll(path, "{event_id}", "no-such-id")), "", nil, nil)
		return code == http.StatusMethodNotAllowed || (code == http.StatusNotFound && strings.Contains(raw, "no such endpoint")),
			fmt.Sprintf("%d %s", code, raw)
	}
	// The store serves the explorer when it implements it; then the
	// explorer's routes must be routed like every other.
	_, explorerServed := r.store.(api.Explorer)
	if unroutedExplorer, got := unrouted("GET", "/api/events/"); unroutedExplorer == explorerServed {
		t.Fatalf("store implements the explorer: %v, GET /api/events/: %s", explorerServed, got)
	}
	doc := api.OpenAPI()
	paths := doc["paths"].(map[string]any)
	if len(paths) < 20 {
		t.Fatalf("only %d documented paths", len(paths))
	}
	for path, item := range paths {
		for method := range item.(map[string]any) {
			if !explorerServed && (path == "/api/events/" || path == "/api/events/export/" || strings.HasPrefix(path, "/api/messages/")) {
				continue
			}
			// Served only with an OpenID provider configured, which this
			// assembly has not (TestSignInThroughOIDC serves them).
			if strings.HasPrefix(path, "/api/auth/oidc/") {
				continue
			}
			if bad, got := unrouted(strings.ToUpper(method), path); bad {
				t.Errorf("%s %s is documented but not routed: %s", strings.ToUpper(method), path, got)
			}
		}
	}
}

func TestBigReplayRunsInTheBackground(t *testing.T) {
	r := startOps(t, nil)
	n := deadletter.SyncReplayMax + 50
	deadLetter(t, r, n)
	storedBefore := storedCount(t, r)
	var res deadletter.ReplayResult
	if code, raw := call(t, "POST", r.url("/api/dlq/replay/"), "", map[string]any{"all": true, "rate": 1000}, &res); code != 200 || res.Count != n {
		t.Fatalf("replay all: %d %.300s", code, raw)
	}
	eventually(t, 30*time.Second, "every dead letter replayed and stored once", func() (bool, string) {
		var list deadletter.View
		getJSON(t, r.url("/api/dlq/"), &list)
		replayed := 0
		for _, g := range list.Groups {
			for _, d := range g.Records {
				if d.Replayed {
					replayed++
				}
			}
		}
		got := storedCount(t, r)
		return replayed == n && got == storedBefore+int64(n), fmt.Sprintf("replayed %d, stored %d", replayed, got)
	})
}
