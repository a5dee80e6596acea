package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

const (
	testTopic = "user_events"
	testDLQ   = "user_events_dlq"
	testGroup = "test_group"
)

// env is one test's world: an in-process Kafka cluster with the topics,
// a producer, an admin client, a SQLite store and shared metrics.
type env struct {
	t       *testing.T
	cluster *kfake.Cluster
	brokers []string
	prod    *kgo.Client
	adm     *kadm.Client
	db      *sqlite.DB
	metrics *Metrics
}

func newEnv(t *testing.T) *env {
	t.Helper()
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(0),
		kfake.SeedTopics(3, testTopic),
		kfake.SeedTopics(1, testDLQ),
	)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(cluster.Close)
	brokers := cluster.ListenAddrs()
	prod, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	t.Cleanup(prod.Close)
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, testLogger(t))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	return &env{t: t, cluster: cluster, brokers: brokers, prod: prod, adm: kadm.NewClient(prod), db: db, metrics: m}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testWriter sends log lines to t.Log so they show only for failed tests.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// config is the test configuration of a member: fast retries and commits.
func (e *env) config(id string) Config {
	return Config{
		Brokers:        e.brokers,
		Topic:          testTopic,
		DLQTopic:       testDLQ,
		Group:          testGroup,
		ConsumerID:     id,
		RetryBase:      10 * time.Millisecond,
		RetryMax:       50 * time.Millisecond,
		CommitInterval: 50 * time.Millisecond,
		DrainTimeout:   2 * time.Second,
		// Frequent heartbeats let members learn of a rebalance quickly.
		ClientOpts: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)},
	}
}

// running is a started Consumer and the changes it published.
type running struct {
	*Consumer
	pub  *recorder
	stop func() error
}

// start runs a member with cfg, writing to sink (the env's store when
// nil), until stop or the end of the test.
func (e *env) start(cfg Config, sink Sink) *running {
	e.t.Helper()
	if sink == nil {
		sink = e.db
	}
	pub := &recorder{}
	c, err := New(cfg, sink, pub, e.metrics, testLogger(e.t))
	if err != nil {
		e.t.Fatalf("new consumer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(20 * time.Second):
				runErr = errors.New("Run did not return within 20s of cancel")
			}
		})
		return runErr
	}
	e.t.Cleanup(func() {
		if err := stop(); err != nil {
			e.t.Errorf("stop %s: %v", cfg.ConsumerID, err)
		}
	})
	return &running{Consumer: c, pub: pub, stop: stop}
}

// ev describes a test event; value renders it as a record value.
type ev map[string]any

func (v ev) value(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any(v))
	if err != nil {
		t.Fatalf("marshal test event: %v", err)
	}
	return b
}

// userEvent is a valid event of user on type.
func userEvent(id, user, typ string) ev {
	return ev{"event_id": id, "user_id": user, "event_type": typ, "element_id": "el-" + user, "timestamp": time.Now().UTC().Format(time.RFC3339Nano)}
}

// eventRecord makes a record for partition p with the standard key of v.
func eventRecord(t *testing.T, p int32, v ev, headers ...string) *kgo.Record {
	t.Helper()
	r := &kgo.Record{Topic: testTopic, Partition: p, Value: v.value(t)}
	if u, ok := v["user_id"].(string); ok {
		if t, ok := v["event_type"].(string); ok {
			r.Key = []byte(u + ":" + t)
		}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: headers[i], Value: []byte(headers[i+1])})
	}
	return r
}

// partitionOf spreads keys over the 3 test partitions.
func partitionOf(key string) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32() % 3)
}

// produce writes records synchronously and returns them with their
// offsets filled in.
func (e *env) produce(rs ...*kgo.Record) []*kgo.Record {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.prod.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		e.t.Fatalf("produce: %v", err)
	}
	return rs
}

// committed returns the group's committed offsets of the events topic.
func (e *env) committed() map[int32]int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.adm.FetchOffsets(ctx, testGroup)
	if err != nil {
		e.t.Fatalf("fetch offsets: %v", err)
	}
	out := map[int32]int64{}
	for p := range int32(3) {
		if o, ok := resp.Lookup(testTopic, p); ok && o.Err == nil && o.At >= 0 {
			out[p] = o.At
		}
	}
	return out
}

// endOffsets returns the end offset of every partition of the events topic.
func (e *env) endOffsets() map[int32]int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := e.adm.ListEndOffsets(ctx, testTopic)
	if err != nil {
		e.t.Fatalf("list end offsets: %v", err)
	}
	out := map[int32]int64{}
	for p := range int32(3) {
		if o, ok := l.Lookup(testTopic, p); ok {
			out[p] = o.Offset
		}
	}
	return out
}

// resetGroup commits offset 0 on every partition, as if the group had
// stopped before committing anything. The group must have no members.
func (e *env) resetGroup() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var os kadm.Offsets
	for p := range int32(3) {
		os.AddOffset(testTopic, p, 0, -1)
	}
	resp, err := e.adm.CommitOffsets(ctx, testGroup, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		e.t.Fatalf("reset group offsets: %v", err)
	}
}

// eventCount is the number of events stored.
func (e *env) eventCount() int64 {
	e.t.Helper()
	tot, err := e.db.Totals(context.Background(), time.Time{})
	if err != nil {
		e.t.Fatalf("totals: %v", err)
	}
	return tot.Events
}

// messages returns the stored processing-log rows with status s.
func (e *env) messages(s event.Status) []event.Message {
	e.t.Helper()
	ms, err := e.db.Messages(context.Background(), store.MessageFilter{Status: s, Limit: store.MaxLimit})
	if err != nil {
		e.t.Fatalf("messages: %v", err)
	}
	return ms
}

// message returns the stored processing-log row of eventID, if any.
func (e *env) message(eventID string) (event.Message, bool) {
	e.t.Helper()
	for _, s := range []event.Status{event.StatusCompleted, event.StatusDeadLettered} {
		for _, m := range e.messages(s) {
			if m.EventID == eventID {
				return m, true
			}
		}
	}
	return event.Message{}, false
}

// readDLQ reads n records from the DLQ topic, in the order of the records
// they dead-letter: dead letters of one batch are produced concurrently, so
// their order in the DLQ topic is not theirs.
func (e *env) readDLQ(n int) []*kgo.Record {
	e.t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(e.brokers...),
		kgo.ConsumeTopics(testDLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		e.t.Fatalf("DLQ reader: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			e.t.Fatalf("read DLQ: got %d of %d records before the deadline", len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	slices.SortStableFunc(out, func(a, b *kgo.Record) int {
		return cmp.Or(cmp.Compare(originalCoordinate(a, record.HeaderDLQPartition), originalCoordinate(b, record.HeaderDLQPartition)),
			cmp.Compare(originalCoordinate(a, record.HeaderDLQOffset), originalCoordinate(b, record.HeaderDLQOffset)))
	})
	return out
}

// originalCoordinate is a dead letter's numeric header key, -1 when absent.
func originalCoordinate(r *kgo.Record, key string) int64 {
	v, _ := header(r, key)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// recorder is a Publisher that keeps every change.
type recorder struct {
	mu      sync.Mutex
	changes []event.Change
	n       atomic.Int64
}

func (r *recorder) Publish(c event.Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
	r.n.Add(1)
}

func (r *recorder) settled() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.changes {
		out = append(out, c.Settled...)
	}
	return out
}

func (r *recorder) storedEvents() []event.Stored {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Stored
	for _, c := range r.changes {
		out = append(out, c.Events...)
	}
	return out
}

// messagesOf returns the published processing-log states of eventID, in
// order.
func (r *recorder) messagesOf(eventID string) []event.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Message
	for _, c := range r.changes {
		for _, m := range c.Messages {
			if m.EventID == eventID {
				out = append(out, m)
			}
		}
	}
	return out
}

// flakySink fails the first n writes, then passes them to the store.
type flakySink struct {
	Sink
	failures atomic.Int64
	calls    atomic.Int64
}

func (s *flakySink) Write(ctx context.Context, batch []store.Record) ([]store.Outcome, error) {
	s.calls.Add(1)
	if s.failures.Add(-1) >= 0 {
		return nil, errors.New("disk full (test)")
	}
	return s.Sink.Write(ctx, batch)
}

// metricValue reads a counter or gauge.
func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	if c := out.GetCounter(); c != nil {
		return c.GetValue()
	}
	return out.GetGauge().GetValue()
}

// gateSink fails every write while closed.
type gateSink struct {
	Sink
	open  atomic.Bool
	calls atomic.Int64
}

func (s *gateSink) Write(ctx context.Context, batch []store.Record) ([]store.Outcome, error) {
	s.calls.Add(1)
	if !s.open.Load() {
		return nil, errors.New("database unavailable (test)")
	}
	return s.Sink.Write(ctx, batch)
}

// rejectDLQ makes the broker reject produce requests to the DLQ topic
// with a non-retriable error, so the client gives them back, while reject
// is true. rejected counts the rejections.
type rejectDLQ struct {
	reject, rejected atomic.Int64
}

func (e *env) rejectDLQProduces() *rejectDLQ {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	td, err := e.adm.ListTopics(ctx, testDLQ)
	if err != nil || td[testDLQ].Err != nil {
		e.t.Fatalf("describe DLQ topic: %v %v", err, td[testDLQ].Err)
	}
	// Recent produce requests name topics by id only.
	dlqID := td[testDLQ].ID
	r := &rejectDLQ{}
	r.reject.Store(1)
	e.cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if len(pr.Topics) != 1 || (pr.Topics[0].Topic != testDLQ && pr.Topics[0].TopicID != dlqID) || r.reject.Load() == 0 {
			return nil, nil, false
		}
		r.rejected.Add(1)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, t := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.PolicyViolation.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	return r
}
