package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

const topic = "user_events"

// kgoProducer is a minimal Producer over kgo for these tests; the real
// one lives in internal/kafka.
type kgoProducer struct {
	cl    *kgo.Client
	calls atomic.Int64
}

func record(e *event.Event, src event.Source, rid string) (*kgo.Record, error) {
	// As kafka.Producer.Record does: the handlers leave an absent time
	// to the producer.
	e.Normalize(time.Now())
	v, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Topic: topic, Key: e.Key(), Value: v, Headers: []kgo.RecordHeader{
		{Key: "source", Value: []byte(src)},
		{Key: "request_id", Value: []byte(rid)},
	}}, nil
}

func (p *kgoProducer) Produce(ctx context.Context, e *event.Event, src event.Source, rid string) (Ack, error) {
	p.calls.Add(1)
	rec, err := record(e, src, rid)
	if err != nil {
		return Ack{}, err
	}
	if err := p.await(ctx, rec); err != nil {
		return Ack{}, err
	}
	return Ack{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset}, nil
}

// await produces recs and waits for all acknowledgements or for ctx:
// ProduceSync would keep waiting for an idempotent record already in
// flight to a broker that went away.
func (p *kgoProducer) await(ctx context.Context, recs ...*kgo.Record) error {
	done := make(chan error, len(recs))
	for _, r := range recs {
		p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	}
	for range recs {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Record and ProduceRecords are the collector's Producer.
func (p *kgoProducer) Record(e *event.Event, src event.Source, rid string) (*kgo.Record, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return record(e, src, rid)
}

func (p *kgoProducer) ProduceRecords(ctx context.Context, recs []*kgo.Record) error {
	p.calls.Add(1)
	for _, r := range recs {
		r.Topic = topic
	}
	return p.await(ctx, recs...)
}

func (p *kgoProducer) ProduceBatch(ctx context.Context, events []*event.Event, src event.Source, rid string) error {
	p.calls.Add(1)
	recs := make([]*kgo.Record, len(events))
	for i, e := range events {
		r, err := record(e, src, rid)
		if err != nil {
			return err
		}
		recs[i] = r
	}
	return p.await(ctx, recs...)
}

// fixedConsumers reports a fixed consumer group.
type fixedConsumers struct {
	m   ConsumerMetrics
	err error
}

func (f fixedConsumers) ConsumerMetrics(context.Context) (ConsumerMetrics, error) { return f.m, f.err }

type testEnv struct {
	t        *testing.T
	cluster  *kfake.Cluster
	producer *kgoProducer
	client   *kgo.Client
	db       *sqlite.DB
	stats    *live.Stats
	bus      *live.Bus
	srv      *httptest.Server
	reg      *prometheus.Registry
}

func newEnv(t *testing.T, cfg Config, ui fstest.MapFS) *testEnv {
	t.Helper()
	return newEnvWith(t, cfg, ui, nil)
}

// newEnvWith is newEnv with more parts: with fills in the dependencies
// a test adds (the collector, the sources) before the server starts.
func newEnvWith(t *testing.T, cfg Config, ui fstest.MapFS, with func(d *Deps, p *kgoProducer, db *sqlite.DB, reg *prometheus.Registry)) *testEnv {
	t.Helper()
	// httptest listens on loopback: without a token, the server is open
	// to the test as it is to anyone on this machine before any account.
	if cfg.AdminToken == "" && !cfg.AuthRequired {
		cfg.Loopback = true
	}
	ctx := context.Background()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.RecordDeliveryTimeout(2*time.Second),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	totals, err := db.Totals(ctx, time.Now().Add(-5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	stats := live.NewStats(totals, nil)
	bus := live.NewBus(nil, reg)
	hub := live.NewHub(live.HubConfig{}, bus, stats, db, nil, reg)
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		_ = hub.Run(hubCtx)
	}()
	t.Cleanup(func() { stopHub(); <-hubDone })

	if cfg.ProduceTimeout == 0 {
		cfg.ProduceTimeout = 3 * time.Second
	}
	p := &kgoProducer{cl: cl}
	deps := Deps{
		Producer:         p,
		Store:            db,
		Series:           db,
		Stats:            stats,
		Hub:              hub,
		KafkaHealth:      cl.Ping,
		BootstrapServers: strings.Join(cluster.ListenAddrs(), ","),
		Topic:            topic,
		Gatherer:         reg,
		Consumers: fixedConsumers{m: ConsumerMetrics{
			Group: "dashboard_consumer_group", Topic: topic,
			Consumers:  []ConsumerStats{{ConsumerID: "c1", Partitions: []int32{0, 1, 2}, Processed: 5}},
			Partitions: []PartitionLag{{Partition: 0, CommittedOffset: 3, EndOffset: 5, Lag: 2}},
			TotalLag:   2,
		}},
	}
	if ui != nil {
		deps.UI = ui
	}
	if with != nil {
		with(&deps, p, db, reg)
	}
	srv := httptest.NewServer(New(cfg, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)
	return &testEnv{t: t, cluster: cluster, producer: p, client: cl, db: db, stats: stats, bus: bus, srv: srv, reg: reg}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorText(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.json(t, &e)
	if e.Error == "" {
		t.Fatalf("no error message in %s", r.body)
	}
	return e.Error
}

func (e *testEnv) do(method, path, contentType string, body []byte, header http.Header) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *testEnv) get(path string) response { return e.do("GET", path, "", nil, nil) }

func (e *testEnv) post(path, body string) response {
	return e.do("POST", path, "application/json", []byte(body), nil)
}

func TestCreateEventAckedOnTopic(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	r := env.do("POST", "/api/events/create/", "application/json; charset=utf-8",
		[]byte(`{"user_id":"user_001","event_type":"button_click","element_id":"btn_1","properties":{"a":1}}`),
		http.Header{"X-Request-ID": {"req-abc.1"}})
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var ack struct {
		Status    string `json:"status"`
		EventID   string `json:"event_id"`
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
		RequestID string `json:"request_id"`
	}
	r.json(t, &ack)
	if ack.Status != "accepted" || ack.EventID == "" || ack.Topic != topic || ack.RequestID != "req-abc.1" || ack.Offset != 0 {
		t.Fatalf("ack: %+v", ack)
	}
	if got := r.header.Get("X-Request-ID"); got != "req-abc.1" {
		t.Fatalf("X-Request-ID echoed as %q", got)
	}

	// The record is on the topic at the acknowledged place, with headers.
	cons, err := kgo.NewClient(kgo.SeedBrokers(env.cluster.ListenAddrs()...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {ack.Partition: kgo.NewOffset().At(ack.Offset)},
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rec *kgo.Record
	for rec == nil {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatal("record not found on the topic")
		}
		fs.EachRecord(func(r *kgo.Record) { rec = r })
	}
	headers := map[string]string{}
	for _, h := range rec.Headers {
		headers[h.Key] = string(h.Value)
	}
	if headers["source"] != "api" || headers["request_id"] != "req-abc.1" {
		t.Fatalf("headers %v", headers)
	}
	e, err := event.Decode(rec.Value)
	if err != nil {
		t.Fatal(err)
	}
	if e.EventID != ack.EventID || e.UserID != "user_001" || e.Timestamp.IsZero() || string(rec.Key) != "user_001:button_click" {
		t.Fatalf("record %+v key %s", e, rec.Key)
	}
}

func TestCreateEventRejects(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	for _, tc := range []struct {
		name, body, field string
	}{
		{"invalid JSON", `{"user_id":`, "invalid JSON"},
		{"not an object", `[1,2]`, "invalid JSON"},
		{"wrong type", `{"user_id":42,"event_type":"page_view"}`, "user_id"},
		{"missing user_id", `{"event_type":"page_view"}`, "user_id"},
		{"missing event_type", `{"user_id":"u1"}`, "event_type"},
		{"bad event_type", `{"user_id":"u1","event_type":"Page View"}`, "event_type"},
		{"string over limit", `{"user_id":"` + strings.Repeat("u", 129) + `","event_type":"page_view"}`, "user_id"},
		{"delay 31", `{"user_id":"u1","event_type":"page_view","delay_seconds":31}`, "delay_seconds"},
		{"control chars", `{"user_id":"u1","event_type":"page_view","element_id":"a\u0007b"}`, "element_id"},
		{"bad timestamp", `{"user_id":"u1","event_type":"page_view","timestamp":"yesterday"}`, "timestamp"},
		// Valid RFC 3339, but past the year 9999 in UTC: the producer
		// could not encode it and the API answered 503.
		{"timestamp past 9999 in UTC", `{"user_id":"u1","event_type":"page_view","timestamp":"9999-12-31T23:59:59-23:59"}`,
			"timestamp: is 10000-01-01T23:58:59Z in UTC, outside the accepted range 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z"},
		// The zero time was replaced by the time of ingest.
		{"zero timestamp", `{"user_id":"u1","event_type":"page_view","timestamp":"0001-01-01T00:00:00Z"}`, "timestamp: is 0001-01-01T00:00:00Z in UTC, outside"},
		{"bidi control in user_id", `{"user_id":"u\u202e1","event_type":"page_view"}`, "user_id: contains invisible format character U+202E"},
		{"zero width space in element_id", `{"user_id":"u","event_type":"page_view","element_id":"b\u200b"}`, "element_id: contains invisible format character U+200B"},
		{"number beyond float64 in properties", `{"user_id":"u","event_type":"page_view","properties":{"n":{"m":1e400}}}`, "properties: /n/m is 1e400, beyond the range"},
		{"properties not object", `{"user_id":"u1","event_type":"page_view","properties":[1]}`, "properties"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.post("/api/events/create/", tc.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if msg := r.errorText(t); !strings.Contains(msg, tc.field) {
				t.Fatalf("error %q does not name %s", msg, tc.field)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		body := `{"user_id":"u1","event_type":"page_view","message":"` + strings.Repeat("m", MaxEventBody) + `"}`
		if r := env.post("/api/events/create/", body); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		t.Run("content type "+ct, func(t *testing.T) {
			r := env.do("POST", "/api/events/create/", ct, []byte(`{"user_id":"u1","event_type":"page_view"}`), nil)
			if r.status != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			r.errorText(t)
		})
	}
	if n := env.producer.calls.Load(); n != 0 {
		t.Fatalf("producer called %d times for rejected events", n)
	}
}

func TestCreateEventKafkaDown(t *testing.T) {
	env := newEnv(t, Config{ProduceTimeout: 2 * time.Second}, nil)
	if r := env.post("/api/events/create", `{"user_id":"u1","event_type":"page_view"}`); r.status != http.StatusCreated {
		t.Fatalf("status before closing %d: %s", r.status, r.body)
	}
	env.cluster.Close()
	r := env.post("/api/events/create/", `{"user_id":"u1","event_type":"page_view"}`)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if msg := r.errorText(t); !strings.HasPrefix(msg, "kafka unavailable: ") {
		t.Fatalf("error %q", msg)
	}
	h := env.get("/api/health/")
	if h.status != http.StatusServiceUnavailable {
		t.Fatalf("health status %d: %s", h.status, h.body)
	}
	var body struct {
		Status     string `json:"status"`
		Components struct {
			Kafka struct {
				Status string `json:"status"`
			} `json:"kafka"`
		} `json:"components"`
	}
	h.json(t, &body)
	if body.Status != "unhealthy" || body.Components.Kafka.Status != "unhealthy" {
		t.Fatalf("health: %s", h.body)
	}
}

func TestBatch(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	r := env.post("/api/events/batch/", `{"events":[
		{"user_id":"u1","event_type":"page_view"},
		{"user_id":"u2","event_type":"button_click","element_id":"b","event_id":"my-id-1"},
		{"user_id":"u3","event_type":"custom_thing"}]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var ok struct {
		Accepted int      `json:"accepted"`
		EventIDs []string `json:"event_ids"`
	}
	r.json(t, &ok)
	if ok.Accepted != 3 || len(ok.EventIDs) != 3 || ok.EventIDs[1] != "my-id-1" || ok.EventIDs[0] == "" {
		t.Fatalf("batch: %s", r.body)
	}

	nd := "{\"user_id\":\"u1\",\"event_type\":\"page_view\"}\n{\"user_id\":\"u2\",\"event_type\":\"page_view\"}\n"
	r = env.do("POST", "/api/events/batch", "application/x-ndjson", []byte(nd), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("ndjson status %d: %s", r.status, r.body)
	}
	r.json(t, &ok)
	if ok.Accepted != 2 {
		t.Fatalf("ndjson: %s", r.body)
	}

	calls := env.producer.calls.Load()
	for _, tc := range []struct{ name, body, want string }{
		{"second invalid", `{"events":[{"user_id":"u1","event_type":"page_view"},{"event_type":"page_view"}]}`, "events[1].user_id"},
		{"ndjson third bad type", "{\"user_id\":\"u\",\"event_type\":\"a\"}\n{\"user_id\":\"u\",\"event_type\":\"a\"}\n{\"user_id\":\"u\",\"event_type\":\"A\"}", "events[2].event_type"},
		{"ndjson broken", "{\"user_id\":\"u\",\"event_type\":\"a\"}\n{\"user_id\":", "events[1]"},
		{"empty", `{"events":[]}`, "events"},
		{"repeated event_id", `{"events":[{"user_id":"u","event_type":"a","event_id":"dup"},{"user_id":"u","event_type":"a"},{"user_id":"v","event_type":"a","event_id":"dup"}]}`, "events[2].event_id: repeats the event_id of events[0]"},
		{"events not array", `{"events":{}}`, "events"},
		{"too many", `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"user_id":"u","event_type":"a"},`, MaxBatchEvents+1), ",") + `]}`, "events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.post("/api/events/batch/", tc.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if msg := r.errorText(t); !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not name %s", msg, tc.want)
			}
		})
	}
	big := `{"events":[{"user_id":"u","event_type":"a","message":"` + strings.Repeat("x", MaxBatchBody) + `"}]}`
	if r := env.post("/api/events/batch/", big); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("big batch status %d", r.status)
	}
	if n := env.producer.calls.Load(); n != calls {
		t.Fatalf("producer called %d times for rejected batches", n-calls)
	}
}

// seed stores n completed events e0..e(n-1), oldest first, and feeds
// them to the stats the way the pipeline would.
func (e *testEnv) seed(n int) {
	e.t.Helper()
	var batch []store.Record
	var change event.Change
	base := time.Now().Add(-time.Minute)
	for i := 0; i < n; i++ {
		ev := event.Event{EventID: fmt.Sprintf("e%d", i), UserID: "u1", EventType: "button_click", ElementID: fmt.Sprintf("btn_%d", i%2), Timestamp: base.Add(time.Duration(i) * time.Second)}
		start := base.Add(time.Duration(i) * time.Second)
		end := start.Add(10 * time.Millisecond)
		m := event.Message{EventID: ev.EventID, EventType: ev.EventType, UserID: "u1", ElementID: ev.ElementID, Status: event.StatusCompleted, Source: event.SourceAPI, ConsumerID: "c1", Topic: topic, Partition: 0, Offset: int64(i), QueuedAt: start, StartedAt: &start, CompletedAt: &end, DurationMS: 10}
		batch = append(batch, store.Record{Event: &ev, Message: m})
		change.Events = append(change.Events, event.Stored{Event: ev, Source: event.SourceAPI})
		change.Messages = append(change.Messages, m)
	}
	// One at a time, so "newest first" has distinct row ids to order by.
	for i := range batch {
		if _, err := e.db.Write(context.Background(), batch[i:i+1]); err != nil {
			e.t.Fatal(err)
		}
	}
	e.stats.Apply(change)
}

func TestLatestEvents(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	env.seed(5)
	for _, path := range []string{"/api/events/latest/?limit=2", "/api/events/latest?limit=2"} {
		r := env.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, r.status, r.body)
		}
		var body struct {
			Events []event.Stored `json:"events"`
			Stats  live.StatsJSON `json:"stats"`
		}
		r.json(t, &body)
		if len(body.Events) != 2 || body.Events[0].EventID != "e4" || body.Events[1].EventID != "e3" {
			t.Fatalf("events: %+v", body.Events)
		}
		if body.Stats.TotalEvents != 5 || body.Stats.EventTypes["button_click"] != 5 || len(body.Stats.TopElements) != 2 || body.Stats.Queue.Completed != 5 {
			t.Fatalf("stats: %+v", body.Stats)
		}
	}
	// The exact keys of the contract.
	r := env.get("/api/events/latest/")
	var top map[string]json.RawMessage
	r.json(t, &top)
	var stats map[string]json.RawMessage
	if err := json.Unmarshal(top["stats"], &stats); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"total_events", "event_types", "top_elements", "queue", "events_per_second", "recent_5min"} {
		if _, ok := stats[k]; !ok {
			t.Fatalf("stats lacks %s: %s", k, top["stats"])
		}
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=abc", "limit=-1"} {
		r := env.get("/api/events/latest/?" + q)
		if r.status != http.StatusBadRequest || !strings.Contains(r.errorText(t), "limit") {
			t.Fatalf("%s: status %d: %s", q, r.status, r.body)
		}
	}
}

func TestQueue(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	env.seed(3)
	env.stats.Apply(event.Change{Messages: []event.Message{{EventID: "flying", EventType: "page_view", Status: event.StatusProcessing, Source: event.SourceProducer, QueuedAt: time.Now()}}})

	var body struct {
		Messages []event.Message `json:"messages"`
		Count    int             `json:"count"`
	}
	env.get("/api/queue/messages/").json(t, &body)
	if body.Count != 4 || len(body.Messages) != 4 || body.Messages[0].EventID != "flying" || body.Messages[1].EventID != "e2" {
		t.Fatalf("messages: %+v", body)
	}
	env.get("/api/queue/messages?status=completed&limit=2").json(t, &body)
	if body.Count != 2 || body.Messages[0].EventID != "e2" || body.Messages[0].Status != event.StatusCompleted {
		t.Fatalf("completed: %+v", body)
	}
	env.get("/api/queue/messages/?source=producer").json(t, &body)
	if body.Count != 1 || body.Messages[0].EventID != "flying" {
		t.Fatalf("source=producer: %+v", body)
	}
	for _, q := range []string{"status=done", "source=web", "limit=0"} {
		r := env.get("/api/queue/messages/?" + q)
		if r.status != http.StatusBadRequest {
			t.Fatalf("%s: status %d", q, r.status)
		}
		name, _, _ := strings.Cut(q, "=")
		if msg := r.errorText(t); !strings.Contains(msg, name) {
			t.Fatalf("%s: error %q", q, msg)
		}
	}

	var qs live.QueueStats
	r := env.get("/api/queue/stats/")
	r.json(t, &qs)
	if qs.Total != 4 || qs.Completed != 3 || qs.Processing != 1 || qs.AvgProcessingTimeMS != 10 {
		t.Fatalf("queue stats: %s", r.body)
	}
	var keys map[string]any
	r.json(t, &keys)
	for _, k := range []string{"total", "queued", "processing", "retrying", "completed", "failed", "dead_lettered", "avg_processing_time_ms"} {
		if _, ok := keys[k]; !ok {
			t.Fatalf("queue stats lacks %s", k)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	env.seed(2)
	r := env.get("/api/health/")
	if r.status != http.StatusOK {
		t.Fatalf("health %d: %s", r.status, r.body)
	}
	var h struct {
		Status     string    `json:"status"`
		Timestamp  time.Time `json:"timestamp"`
		Components struct {
			Database struct {
				Status     string `json:"status"`
				EventCount int64  `json:"event_count"`
				QueueCount int64  `json:"queue_count"`
			} `json:"database"`
			Kafka struct {
				Status           string `json:"status"`
				BootstrapServers string `json:"bootstrap_servers"`
				Topic            string `json:"topic"`
			} `json:"kafka"`
			Consumers struct {
				Status  string `json:"status"`
				Members int    `json:"members"`
			} `json:"consumers"`
		} `json:"components"`
	}
	r.json(t, &h)
	c := h.Components
	if h.Status != "healthy" || h.Timestamp.IsZero() || c.Database.Status != "healthy" || c.Database.EventCount != 2 || c.Database.QueueCount != 2 ||
		c.Kafka.Status != "healthy" || c.Kafka.Topic != topic || c.Kafka.BootstrapServers == "" || c.Consumers.Status != "healthy" || c.Consumers.Members != 1 {
		t.Fatalf("health: %s", r.body)
	}

	r = env.get("/api/metrics/")
	var m struct {
		Metrics          map[string]json.RawMessage `json:"metrics"`
		PrometheusFormat string                     `json:"prometheus_format"`
	}
	r.json(t, &m)
	want := []string{"kafka_events_total", "kafka_events_recent_5min", "kafka_queue_total", "kafka_queue_queued", "kafka_queue_processing", "kafka_queue_completed", "kafka_queue_failed", "kafka_queue_dead_lettered", "kafka_processing_time_avg_ms", "kafka_event_types"}
	if len(m.Metrics) != len(want) {
		t.Fatalf("metrics keys: %s", r.body)
	}
	for _, k := range want {
		if _, ok := m.Metrics[k]; !ok {
			t.Fatalf("metrics lacks %s", k)
		}
	}
	for _, line := range []string{"kafka_events_total 2\n", "kafka_queue_completed 2\n", "kafka_processing_time_avg_ms 10\n", `kafka_event_types{event_type="button_click"} 2` + "\n"} {
		if !strings.Contains(m.PrometheusFormat, line) {
			t.Fatalf("prometheus_format lacks %q:\n%s", line, m.PrometheusFormat)
		}
	}
	if string(m.Metrics["kafka_events_total"]) != "2" {
		t.Fatalf("kafka_events_total = %s", m.Metrics["kafka_events_total"])
	}

	r = env.get("/api/consumer_metrics/")
	var cm ConsumerMetrics
	r.json(t, &cm)
	if r.status != http.StatusOK || cm.Group != "dashboard_consumer_group" || cm.TotalLag != 2 || len(cm.Consumers) != 1 || cm.Consumers[0].Partitions[2] != 2 {
		t.Fatalf("consumer metrics %d: %s", r.status, r.body)
	}

	r = env.get("/metrics")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `pulse_http_requests_total{code="200",method="GET",route="/api/health/"} 1`) {
		t.Fatalf("/metrics %d:\n%s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), "pulse_ws_clients") {
		t.Fatal("/metrics lacks the hub's metrics")
	}
}

func TestRequestIDs(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	for _, tc := range []struct {
		sent  string
		reuse bool
	}{
		{"abc-123_X.y", true},
		{"", false},
		{strings.Repeat("a", 65), false},
		{"has space", false},
		{"inject\"quote", false},
	} {
		h := http.Header{}
		if tc.sent != "" {
			h.Set("X-Request-ID", tc.sent)
		}
		got := env.do("GET", "/api/queue/stats/", "", nil, h).header.Get("X-Request-ID")
		if tc.reuse && got != tc.sent {
			t.Fatalf("sent %q, got %q", tc.sent, got)
		}
		if !tc.reuse && (got == tc.sent || !saneRequestID(got)) {
			t.Fatalf("sent %q, got %q; want a fresh id", tc.sent, got)
		}
	}
}

func TestCORS(t *testing.T) {
	env := newEnv(t, Config{AllowedOrigins: []string{"https://dash.example.com"}}, nil)
	preflight := func(origin string) response {
		return env.do("OPTIONS", "/api/events/create/", "", nil, http.Header{
			"Origin":                         {origin},
			"Access-Control-Request-Method":  {"POST"},
			"Access-Control-Request-Headers": {"content-type"},
		})
	}
	for _, origin := range []string{"http://localhost:5173", "http://127.0.0.1:8080", "https://dash.example.com"} {
		r := preflight(origin)
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Fatalf("%s: %d %v", origin, r.status, r.header)
		}
	}
	for _, origin := range []string{"https://evil.example", "http://dash.example.com", "null"} {
		r := preflight(origin)
		if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s: %d %v", origin, r.status, r.header)
		}
	}
	r := env.do("GET", "/api/queue/stats/", "", nil, http.Header{"Origin": {"https://dash.example.com"}})
	if r.header.Get("Access-Control-Allow-Origin") != "https://dash.example.com" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-ID") {
		t.Fatalf("simple request headers %v", r.header)
	}
	r = env.do("GET", "/api/queue/stats/", "", nil, http.Header{"Origin": {"https://evil.example"}})
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin got CORS headers %v", r.header)
	}
}

func TestIngestRateLimit(t *testing.T) {
	env := newEnv(t, Config{IngestRate: 0.5, IngestBurst: 2}, nil)
	body := `{"user_id":"u1","event_type":"page_view"}`
	for i := 0; i < 2; i++ {
		if r := env.post("/api/events/create/", body); r.status != http.StatusCreated {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	r := env.post("/api/events/create/", body)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" {
		t.Fatalf("third request: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	r.errorText(t)
	// Reads are not limited.
	if r := env.get("/api/queue/stats/"); r.status != http.StatusOK {
		t.Fatalf("read limited: %d", r.status)
	}
}

// TestGuardWithoutAccounts: with no accounts, a loopback server is open
// to requests straight from this machine; beyond loopback, through a
// proxy or with auth required, only the admin token passes, and a
// credential that is sent and wrong is refused, never ignored.
func TestGuardWithoutAccounts(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, tc := range []struct {
		name     string
		cfg      Config
		auth     string
		proxied  bool
		want     int
		wantAuth bool
	}{
		{"loopback without token", Config{Loopback: true}, "", false, http.StatusNoContent, false},
		{"loopback with a token configured", Config{AdminToken: "s3cret", Loopback: true}, "", false, http.StatusNoContent, false},
		{"loopback through a proxy", Config{Loopback: true}, "", true, http.StatusUnauthorized, true},
		{"loopback with auth required", Config{Loopback: true, AuthRequired: true}, "", false, http.StatusUnauthorized, true},
		{"loopback with a wrong token", Config{AdminToken: "s3cret", Loopback: true}, "Bearer nope", false, http.StatusUnauthorized, true},
		{"lowercase scheme", Config{AdminToken: "s3cret"}, "bearer s3cret", false, http.StatusNoContent, false},
		{"exposed without token", Config{}, "Bearer anything", false, http.StatusUnauthorized, true},
		{"exposed without header", Config{AdminToken: "s3cret"}, "", false, http.StatusUnauthorized, true},
		{"right token", Config{AdminToken: "s3cret"}, "Bearer s3cret", false, http.StatusNoContent, false},
		{"wrong token", Config{AdminToken: "s3cret"}, "Bearer s3cre", false, http.StatusUnauthorized, true},
		{"not bearer", Config{AdminToken: "s3cret"}, "Basic s3cret", false, http.StatusUnauthorized, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.cfg, Deps{}, nil, nil)
			req := httptest.NewRequest("POST", "/api/admin/x", nil)
			req.RemoteAddr = "127.0.0.1:50000"
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.proxied {
				req.Header.Set("X-Forwarded-For", "203.0.113.9")
			}
			w := httptest.NewRecorder()
			s.guard(auth.Admin, ok).ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate") != ""; got != tc.wantAuth {
				t.Fatalf("WWW-Authenticate present = %v", got)
			}
		})
	}
}

func TestPanicRecovered(t *testing.T) {
	s := New(Config{}, Deps{}, nil, nil)
	h := requestIDs(s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"error":"internal error"`) || w.Header().Get("X-Request-ID") == "" {
		t.Fatalf("%d %s %v", w.Code, w.Body, w.Header())
	}
}

func TestUIAndFallbacks(t *testing.T) {
	ui := fstest.MapFS{
		"index.html":    {Data: []byte("<!doctype html><title>Pulse</title>"), ModTime: time.Now()},
		"assets/app.js": {Data: []byte("console.log(1)"), ModTime: time.Now()},
		"favicon.svg":   {Data: []byte("<svg/>"), ModTime: time.Now()},
		// The typeface the UI bundles: a woff2 starts with "wOF2".
		"assets/inter-latin-wght-normal-abc123.woff2": {Data: []byte("wOF2\x00\x01\x00\x00rest"), ModTime: time.Now()},
	}
	env := newEnv(t, Config{}, ui)
	for _, p := range []string{"/", "/explorer", "/dlq/view", "/index.html"} {
		r := env.get(p)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "<title>Pulse</title>") || r.header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: %d %v %s", p, r.status, r.header, r.body)
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self' ws: wss:") || !strings.Contains(csp, "font-src 'self'") {
			t.Fatalf("CSP %q", csp)
		}
		if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") == "" {
			t.Fatalf("security headers %v", r.header)
		}
	}
	r := env.get("/assets/app.js")
	if r.status != http.StatusOK || string(r.body) != "console.log(1)" || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("asset: %d %v", r.status, r.header)
	}
	if r := env.get("/favicon.svg"); r.status != http.StatusOK || string(r.body) != "<svg/>" {
		t.Fatalf("favicon: %d", r.status)
	}
	if r := env.get("/assets/inter-latin-wght-normal-abc123.woff2"); r.status != http.StatusOK || r.header.Get("Content-Type") != "font/woff2" {
		t.Fatalf("font: %d %v", r.status, r.header)
	}
	for _, p := range []string{"/assets/missing.js", "/api/nope/", "/api/events/latest/extra"} {
		r := env.get(p)
		if r.status != http.StatusNotFound || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %v %s", p, r.status, r.header, r.body)
		}
		r.errorText(t)
	}
	r = env.do("DELETE", "/api/events/latest/", "", nil, nil)
	if r.status != http.StatusMethodNotAllowed || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("405: %d %v %s", r.status, r.header, r.body)
	}
	r.errorText(t)
}

func TestNoUI(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	r := env.get("/")
	if r.status != http.StatusNotFound || !strings.Contains(r.errorText(t), "not built") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestWebSocketThroughAPI(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	env.seed(3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(env.srv.URL, "http") + "/ws/events/"
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	read := func() map[string]json.RawMessage {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	init := read()
	var events []event.Stored
	if err := json.Unmarshal(init["events"], &events); err != nil || string(init["type"]) != `"initial_data"` || len(events) != 3 || events[0].EventID != "e2" {
		t.Fatalf("initial_data: %v %s", err, init["events"])
	}
	env.bus.Publish(event.Change{Events: []event.Stored{{ID: 99, Event: event.Event{EventID: "live1", UserID: "u", EventType: "page_view"}}}})
	for {
		m := read()
		if string(m["type"]) == `"new_event"` {
			if !strings.Contains(string(m["event"]), `"live1"`) {
				t.Fatalf("new_event %s", m["event"])
			}
			break
		}
	}

	_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v %v", err, resp)
	}
}
