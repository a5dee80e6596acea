package pipeline

import (
	"encoding/base64"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// Three members of one group store 10,000 events exactly once and commit
// up to the end of every partition.
func TestThreeMembersStoreEveryEventOnce(t *testing.T) {
	e := newEnv(t)
	types := []string{event.TypePageView, event.TypeButtonClick, event.TypeFormSubmit, event.TypeUserLogin, event.TypeAPICall}
	const n = 10000
	rs := make([]*kgo.Record, 0, n)
	for i := range n {
		user := fmt.Sprintf("user-%d", i%40)
		typ := types[i%len(types)]
		v := userEvent(fmt.Sprintf("ev-%05d", i), user, typ)
		rs = append(rs, eventRecord(t, partitionOf(user+":"+typ), v, record.HeaderSource, "producer"))
	}
	// The first member starts alone and the others join while it
	// consumes, so partitions move with records in flight.
	ms := []*running{e.start(e.config("host-1"), nil)}
	eventually(t, 10*time.Second, "host-1 assigned", func() bool { return len(ms[0].Snapshot().Partitions) == 3 })
	e.produce(rs...)
	for i := 2; i <= 3; i++ {
		ms = append(ms, e.start(e.config(fmt.Sprintf("host-%d", i)), nil))
	}
	eventually(t, 20*time.Second, "10,000 stored events", func() bool { return e.eventCount() == n })
	end := e.endOffsets()
	eventually(t, 10*time.Second, "commits at the end offsets", func() bool {
		return maps.Equal(e.committed(), end)
	})
	eventually(t, 10*time.Second, "one partition per member", func() bool {
		var parts []int32
		for _, m := range ms {
			p := m.Snapshot().Partitions
			if len(p) != 1 {
				return false
			}
			parts = append(parts, p...)
		}
		slices.Sort(parts)
		return slices.Equal(parts, []int32{0, 1, 2})
	})
	if got := e.eventCount(); got != n {
		t.Fatalf("stored %d events, want %d", got, n)
	}
	groups, err := e.adm.DescribeGroups(t.Context(), testGroup)
	if err != nil {
		t.Fatalf("describe group: %v", err)
	}
	var clients []string
	for _, m := range groups[testGroup].Members {
		clients = append(clients, m.ClientID)
	}
	slices.Sort(clients)
	if !slices.Equal(clients, []string{"host-1", "host-2", "host-3"}) {
		t.Errorf("group members' client ids = %v, want the consumer ids", clients)
	}
	var processed, duplicates int64
	for _, m := range ms {
		s := m.Snapshot()
		processed += s.Processed
		duplicates += s.Duplicates
	}
	if processed != n {
		t.Errorf("members processed %d events (and settled %d duplicates), want %d", processed, duplicates, n)
	}
	if got := metricValue(t, e.metrics.consumed.WithLabelValues("host-1")) +
		metricValue(t, e.metrics.consumed.WithLabelValues("host-2")) +
		metricValue(t, e.metrics.consumed.WithLabelValues("host-3")); got < n {
		t.Errorf("records consumed metric = %v, want at least %d", got, n)
	}
}

// A failing event is retried MaxRetries times, then produced to the DLQ
// with every header, while events of other keys are stored meanwhile.
func TestFailingEventDeadLetteredAfterRetries(t *testing.T) {
	e := newEnv(t)
	bad := userEvent("fail-1", "mallory", event.TypeButtonClick)
	bad["should_fail"] = true
	rs := []*kgo.Record{eventRecord(t, 0, bad, record.HeaderSource, "api", record.HeaderRequestID, "req-fail")}
	for i := range 20 {
		rs = append(rs, eventRecord(t, int32(i%3), userEvent(fmt.Sprintf("ok-%d", i), fmt.Sprintf("u%d", i), event.TypePageView)))
	}
	e.produce(rs...)

	cfg := e.config("c1")
	cfg.RetryBase = 50 * time.Millisecond
	cfg.RetryMax = 200 * time.Millisecond
	c := e.start(cfg, nil)

	dlq := e.readDLQ(1)[0]
	if string(dlq.Key) != string(rs[0].Key) || string(dlq.Value) != string(rs[0].Value) {
		t.Errorf("DLQ record key/value = %q/%q, want the original %q/%q", dlq.Key, dlq.Value, rs[0].Key, rs[0].Value)
	}
	want := map[string]string{
		record.HeaderSource:        "api",
		record.HeaderRequestID:     "req-fail",
		record.HeaderDLQTopic:      testTopic,
		record.HeaderDLQPartition:  "0",
		record.HeaderDLQOffset:     strconv.FormatInt(rs[0].Offset, 10),
		record.HeaderDLQError:      ErrSimulated.Error(),
		record.HeaderDLQAttempts:   "4",
		record.HeaderDLQConsumerID: "c1",
	}
	for k, v := range want {
		if got, ok := header(dlq, k); !ok || got != v {
			t.Errorf("DLQ header %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	failedAt, _ := header(dlq, record.HeaderDLQFailedAt)
	if _, err := time.Parse(time.RFC3339, failedAt); err != nil {
		t.Errorf("DLQ header %s = %q, not RFC 3339: %v", record.HeaderDLQFailedAt, failedAt, err)
	}

	eventually(t, 5*time.Second, "the dead-lettered message and 20 events stored", func() bool {
		_, ok := e.message("fail-1")
		return ok && e.eventCount() == 20
	})
	m, _ := e.message("fail-1")
	if m.Status != event.StatusDeadLettered || m.Retries != 3 || m.Error != ErrSimulated.Error() ||
		m.Source != event.SourceAPI || m.RequestID != "req-fail" || m.ConsumerID != "c1" || m.EventType != event.TypeButtonClick {
		t.Errorf("stored message = %+v, want dead_lettered after 3 retries with source, request id and consumer", m)
	}
	// The other keys were not held back: all of them completed before the
	// failing record gave up.
	for _, ok := range e.messages(event.StatusCompleted) {
		if !ok.CompletedAt.Before(*m.CompletedAt) {
			t.Errorf("event %s completed at %s, after the failing one gave up at %s", ok.EventID, ok.CompletedAt, m.CompletedAt)
		}
	}
	s := c.Snapshot()
	if s.Failed != 4 || s.Retried != 3 || s.DeadLettered != 1 || s.Processed != 20 {
		t.Errorf("snapshot failed/retried/dead_lettered/processed = %d/%d/%d/%d, want 4/3/1/20", s.Failed, s.Retried, s.DeadLettered, s.Processed)
	}
	var retrying int
	for _, pm := range c.pub.messagesOf("fail-1") {
		if pm.Status == event.StatusRetrying {
			retrying++
			if pm.NextRetryAt == nil || pm.Error != ErrSimulated.Error() {
				t.Errorf("published retrying state %+v lacks next_retry_at or error", pm)
			}
		}
	}
	if retrying != 3 {
		t.Errorf("published %d retrying states, want 3", retrying)
	}
	if got := metricValue(t, e.metrics.dlqProduced.WithLabelValues("c1", "failed")); got != 1 {
		t.Errorf("DLQ produced metric = %v, want 1", got)
	}
}

// A delayed record holds back only its own key: another key on the same
// partition flows past it, a later record of its key waits for it, and the
// partition's committed offset stays at the delayed record meanwhile.
func TestDelayHoldsOnlyItsKey(t *testing.T) {
	e := newEnv(t)
	delayed := userEvent("a", "alice", event.TypeButtonClick)
	delayed["delay_seconds"] = 2
	rs := e.produce(
		eventRecord(t, 0, userEvent("x", "xavier", event.TypePageView)),
		eventRecord(t, 0, delayed),
		eventRecord(t, 0, userEvent("b", "bob", event.TypePageView)),
		eventRecord(t, 0, userEvent("c", "alice", event.TypeButtonClick)),
	)
	start := time.Now()
	c := e.start(e.config("c1"), nil)

	eventually(t, 5*time.Second, "event b stored", func() bool { _, ok := e.message("b"); return ok })
	if _, ok := e.message("a"); ok {
		t.Fatalf("delayed event a stored %s after start, before its 2 s delay", time.Since(start))
	}
	if _, ok := e.message("c"); ok {
		t.Fatal("event c stored before event a, the earlier record of its key")
	}
	inflight := c.InFlight()
	if len(inflight) != 1 || inflight[0].EventID != "a" || inflight[0].Status != event.StatusProcessing || inflight[0].StartedAt == nil {
		t.Fatalf("InFlight() = %+v, want event a processing", inflight)
	}
	if pm := c.pub.messagesOf("a"); len(pm) == 0 || pm[0].Status != event.StatusProcessing || pm[0].StartedAt == nil {
		t.Errorf("published states of event a = %+v, want processing with started_at first", pm)
	}
	s := c.Snapshot()
	if len(s.HeldKeys) != 1 || s.HeldKeys[0].Key != "alice:button_click" || s.HeldKeys[0].Waiting != 1 {
		t.Errorf("held keys = %+v, want alice:button_click with 1 waiting", s.HeldKeys)
	}
	eventually(t, 5*time.Second, "partition 0 committed up to the delayed record", func() bool {
		return e.committed()[0] == rs[1].Offset
	})
	if len(c.InFlight()) != 1 {
		t.Fatal("the delayed record finished before the commit was checked; the test proves nothing")
	}
	if w := c.Snapshot().Watermarks; len(w) == 0 || w[0].Partition != 0 || w[0].LowestUnfinished != rs[1].Offset {
		t.Errorf("watermarks = %+v, want partition 0 at offset %d", w, rs[1].Offset)
	}

	eventually(t, 5*time.Second, "events a and c stored", func() bool {
		_, a := e.message("a")
		_, c := e.message("c")
		return a && c
	})
	a, _ := e.message("a")
	cm, _ := e.message("c")
	if cm.StartedAt.Before(*a.CompletedAt) {
		t.Errorf("event c started at %s, before event a of the same key completed at %s", cm.StartedAt, a.CompletedAt)
	}
	if a.DurationMS < 2000 {
		t.Errorf("event a took %v ms, want at least its 2 s delay", a.DurationMS)
	}
	eventually(t, 5*time.Second, "partition 0 committed to its end", func() bool {
		return e.committed()[0] == rs[3].Offset+1
	})
}

// Malformed records go to the DLQ at once with the reason, and their
// dead-lettered messages are stored.
func TestMalformedRecordsDeadLetteredAtOnce(t *testing.T) {
	e := newEnv(t)
	missingUser := ev{"event_type": "page_view", "element_id": "home"}
	oversized := userEvent("big", "olga", event.TypePageView)
	oversized["message"] = strings.Repeat("x", event.MaxRecordBytes)
	rs := e.produce(
		&kgo.Record{Topic: testTopic, Partition: 1, Key: []byte("k1"), Value: []byte(`{"user_id": "u1", oops`)},
		&kgo.Record{Topic: testTopic, Partition: 1, Key: []byte("k1"), Value: missingUser.value(t),
			Headers: []kgo.RecordHeader{{Key: record.HeaderRequestID, Value: []byte("req-bad")}}},
		&kgo.Record{Topic: testTopic, Partition: 1, Value: oversized.value(t)},
		eventRecord(t, 1, userEvent("fine", "u1", event.TypePageView)),
	)

	cfg := e.config("c1")
	// A retry would wait this long: the DLQ must not.
	cfg.RetryBase, cfg.RetryMax = time.Minute, time.Minute
	start := time.Now()
	e.start(cfg, nil)

	dlq := e.readDLQ(3)
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("malformed records reached the DLQ after %s", d)
	}
	reasons := map[string]string{}
	for _, r := range dlq {
		off, _ := header(r, record.HeaderDLQOffset)
		reasons[off], _ = header(r, record.HeaderDLQError)
		if a, _ := header(r, record.HeaderDLQAttempts); a != "1" {
			t.Errorf("DLQ record at offset %s: attempts %q, want 1", off, a)
		}
	}
	for i, want := range []string{"invalid JSON", "user_id: is required", "over the limit"} {
		off := strconv.FormatInt(rs[i].Offset, 10)
		if !strings.Contains(reasons[off], want) {
			t.Errorf("dlq_error of offset %s = %q, want it to mention %q", off, reasons[off], want)
		}
	}

	eventually(t, 5*time.Second, "3 dead-lettered messages and 1 event stored", func() bool {
		return len(e.messages(event.StatusDeadLettered)) == 3 && e.eventCount() == 1
	})
	for i := range 3 {
		id := recordID(rs[i])
		m, ok := e.message(id)
		if !ok || m.Status != event.StatusDeadLettered || m.Error == "" || m.Retries != 0 {
			t.Errorf("message of offset %d = %+v (found %v), want dead_lettered with the reason", rs[i].Offset, m, ok)
		}
	}
	m, _ := e.message(recordID(rs[1]))
	if m.EventType != "page_view" || m.ElementID != "home" || m.RequestID != "req-bad" {
		t.Errorf("message of the record without user_id = %+v, want event type, element and request id kept", m)
	}
}

// Records stored but not committed before a stop are redelivered: nothing
// is stored twice and the change reports them as settled. A record without
// an event_id gets the same derived id both times.
func TestRedeliverySettlesWithoutDuplicates(t *testing.T) {
	e := newEnv(t)
	var rs []*kgo.Record
	for i := range 30 {
		v := userEvent(fmt.Sprintf("r-%d", i), fmt.Sprintf("u%d", i%7), event.TypeFormSubmit)
		if i%3 == 0 {
			delete(v, "event_id")
			delete(v, "timestamp")
		}
		rs = append(rs, eventRecord(t, int32(i%3), v))
	}
	e.produce(rs...)

	first := e.start(e.config("c1"), nil)
	end := e.endOffsets()
	eventually(t, 10*time.Second, "30 events stored and committed", func() bool {
		return e.eventCount() == 30 && maps.Equal(e.committed(), end)
	})
	if err := first.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	derived := map[string]*kgo.Record{}
	for i, r := range rs {
		if i%3 == 0 {
			derived[recordID(r)] = r
		}
	}
	stored := map[string]event.Stored{}
	for _, s := range first.pub.storedEvents() {
		stored[s.EventID] = s
	}
	for id, r := range derived {
		s, ok := stored[id]
		if !ok {
			t.Errorf("record at %d/%d without event_id: no event stored with derived id %s", r.Partition, r.Offset, id)
			continue
		}
		if !s.Timestamp.Equal(r.Timestamp) {
			t.Errorf("event %s timestamp = %s, want the record's %s", id, s.Timestamp, r.Timestamp)
		}
	}

	e.resetGroup()
	second := e.start(e.config("c2"), nil)
	eventually(t, 10*time.Second, "30 redelivered records settled", func() bool {
		return len(second.pub.settled()) == 30
	})
	if got := e.eventCount(); got != 30 {
		t.Errorf("stored %d events after redelivery, want 30", got)
	}
	settled := second.pub.settled()
	for id := range derived {
		if !slices.Contains(settled, id) {
			t.Errorf("derived id %s not settled on redelivery", id)
		}
	}
	if evs := second.pub.storedEvents(); len(evs) != 0 {
		t.Errorf("redelivery published %d events as new", len(evs))
	}
	if s := second.Snapshot(); s.Duplicates != 30 || s.Processed != 0 {
		t.Errorf("second member processed %d, duplicates %d; want 0 and 30", s.Processed, s.Duplicates)
	}
	if got := metricValue(t, e.metrics.processed.WithLabelValues("c2", OutcomeDuplicate)); got != 30 {
		t.Errorf("duplicate metric = %v, want 30", got)
	}
	eventually(t, 5*time.Second, "commits back at the end offsets", func() bool {
		return maps.Equal(e.committed(), end)
	})
}

// Cancelling Run while a record is delayed returns promptly: what finished
// is stored and committed, the delayed record's offset is not, and a
// restart stores the rest without storing anything twice.
func TestShutdownAbandonsInFlight(t *testing.T) {
	e := newEnv(t)
	slow := userEvent("slow", "dora", event.TypePageView)
	slow["delay_seconds"] = 2
	rs := []*kgo.Record{eventRecord(t, 0, slow)}
	rs = append(rs, eventRecord(t, 0, userEvent("behind", "dora", event.TypePageView)))
	for i := range 30 {
		rs = append(rs, eventRecord(t, int32(i%3), userEvent(fmt.Sprintf("s-%d", i), fmt.Sprintf("u%d", i), event.TypeAPICall)))
	}
	e.produce(rs...)
	end := e.endOffsets()

	cfg := e.config("c1")
	cfg.DrainTimeout = 100 * time.Millisecond
	first := e.start(cfg, nil)
	eventually(t, 5*time.Second, "the 30 undelayed events stored", func() bool { return e.eventCount() == 30 })
	if len(first.InFlight()) != 1 {
		t.Fatalf("in flight = %+v, want the delayed record", first.InFlight())
	}
	stopAt := time.Now()
	if err := first.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(stopAt); d > 1500*time.Millisecond {
		t.Errorf("Run took %s to return after cancel, want about the 100 ms drain", d)
	}
	got := e.committed()
	if got[0] != rs[0].Offset || got[1] != end[1] || got[2] != end[2] {
		t.Errorf("committed after shutdown = %v, want partition 0 at the delayed record (%d), 1 and 2 at %d, %d", got, rs[0].Offset, end[1], end[2])
	}
	if _, ok := e.message("slow"); ok {
		t.Error("the abandoned delayed record was stored")
	}

	second := e.start(e.config("c2"), nil)
	eventually(t, 8*time.Second, "all 32 events stored", func() bool { return e.eventCount() == 32 })
	eventually(t, 5*time.Second, "commits at the end offsets", func() bool { return maps.Equal(e.committed(), end) })
	// Records of partition 0 after the delayed one (other than its own
	// key) were stored by the first member and are settled now.
	var wantSettled int
	for _, r := range rs[2:] {
		if r.Partition == 0 {
			wantSettled++
		}
	}
	if n := len(second.pub.settled()); n != wantSettled {
		t.Errorf("second member settled %d records, want %d", n, wantSettled)
	}
	slowMsg, _ := e.message("slow")
	behind, _ := e.message("behind")
	if behind.StartedAt.Before(*slowMsg.CompletedAt) {
		t.Error("the record behind the delayed one started before it completed")
	}
}

// A failing store is retried until it succeeds; nothing is dropped.
func TestStoreFailuresAreRetried(t *testing.T) {
	e := newEnv(t)
	var rs []*kgo.Record
	for i := range 50 {
		rs = append(rs, eventRecord(t, int32(i%3), userEvent(fmt.Sprintf("f-%d", i), fmt.Sprintf("u%d", i), event.TypeUserLogin)))
	}
	e.produce(rs...)
	sink := &flakySink{Sink: e.db}
	sink.failures.Store(3)
	c := e.start(e.config("c1"), sink)
	end := e.endOffsets()
	eventually(t, 10*time.Second, "50 events stored and committed", func() bool {
		return e.eventCount() == 50 && maps.Equal(e.committed(), end)
	})
	if sink.calls.Load() < 4 {
		t.Errorf("store called %d times, want the 3 failures and a success", sink.calls.Load())
	}
	if got := metricValue(t, e.metrics.writeErrors); got != 3 {
		t.Errorf("write errors metric = %v, want 3", got)
	}
	if s := c.Snapshot(); s.InFlight != 0 || s.Processed != 50 {
		t.Errorf("snapshot in flight %d, processed %d; want 0 and 50", s.InFlight, s.Processed)
	}
}

// Without simulation, delay_seconds and should_fail are ignored.
func TestIgnoreSimulation(t *testing.T) {
	e := newEnv(t)
	v := userEvent("sim", "sam", event.TypeButtonClick)
	v["delay_seconds"] = 30
	v["should_fail"] = true
	e.produce(eventRecord(t, 2, v))
	cfg := e.config("c1")
	cfg.IgnoreSimulation = true
	e.start(cfg, nil)
	eventually(t, 5*time.Second, "the event stored at once", func() bool {
		m, ok := e.message("sim")
		return ok && m.Status == event.StatusCompleted
	})
}

func TestConfigDefaults(t *testing.T) {
	if _, err := (Config{}).withDefaults(); err == nil {
		t.Error("a config without brokers was accepted")
	}
	for _, c := range []Config{
		{Brokers: []string{"b:9092"}, DLQTopic: "d", Group: "g"},
		{Brokers: []string{"b:9092"}, Topic: "t", Group: "g"},
		{Brokers: []string{"b:9092"}, Topic: "t", DLQTopic: "d"},
	} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("a config without a topic, DLQ topic or group was accepted: %+v", c)
		}
	}
	cfg, err := Config{Brokers: []string{"b:9092"}, Topic: "t", DLQTopic: "d", Group: "g", MaxRetries: -1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Topic != "t" || cfg.DLQTopic != "d" || cfg.Group != "g" ||
		cfg.MaxRetries != 0 || cfg.BatchSize != DefaultBatchSize || cfg.ConsumerID == "" {
		t.Errorf("defaults = %+v", cfg)
	}
	if _, err := (Config{Brokers: []string{"b"}, Topic: "t", DLQTopic: "t", Group: "g"}).withDefaults(); err == nil {
		t.Error("DLQ topic equal to the consumed topic was accepted")
	}
	c := &Consumer{cfg: Config{RetryBase: 100 * time.Millisecond, RetryMax: time.Second}}
	for n := 1; n <= 10; n++ {
		step := min(100*time.Millisecond<<(n-1), time.Second)
		if d := c.backoff(n); d < step/2 || d > step {
			t.Errorf("backoff(%d) = %s, want within [%s, %s]", n, d, step/2, step)
		}
	}
}

func TestDefaultBackoffShowsTheRetries(t *testing.T) {
	cfg, err := Config{Brokers: []string{"b:9092"}, Topic: "t", DLQTopic: "d", Group: "g"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c := &Consumer{cfg: cfg}
	// The seed's waits: about 1, 2 and 4 s, with equal jitter.
	for n, step := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second} {
		for range 50 {
			if d := c.backoff(n); d < step/2 || d > step {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, step/2, step)
			}
		}
	}
	// DLQ produces and store writes wait for Kafka or the database, not
	// for a user to watch: they back off from 100 ms.
	if d := c.ioBackoff(1); d < 50*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("ioBackoff(1) = %s", d)
	}
	fast := &Consumer{cfg: Config{RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}}
	if d := fast.ioBackoff(1); d > 10*time.Millisecond {
		t.Fatalf("ioBackoff(1) with a 10ms base = %s", d)
	}
}

func TestNewMetricsTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("second NewMetrics on one registry: %v", err)
	}
	a.consumed.WithLabelValues("x").Inc()
	if got := metricValue(t, b.consumed.WithLabelValues("x")); got != 1 {
		t.Errorf("second Metrics does not share the first's collectors: %v", got)
	}
}

// When partitions move to a new member, the old one abandons its delayed
// records there after flushing and committing what finished; the new owner
// processes the delayed record and settles the ones already stored.
func TestRevokeHandsOverInFlightRecords(t *testing.T) {
	e := newEnv(t)
	var rs []*kgo.Record
	for p := range int32(3) {
		d := userEvent(fmt.Sprintf("delayed-%d", p), fmt.Sprintf("d%d", p), event.TypePageView)
		d["delay_seconds"] = 3
		rs = append(rs, eventRecord(t, p, d))
		for i := range 10 {
			rs = append(rs, eventRecord(t, p, userEvent(fmt.Sprintf("n-%d-%d", p, i), fmt.Sprintf("n%d", i), event.TypeAPICall)))
		}
	}
	e.produce(rs...)
	end := e.endOffsets()

	first := e.start(e.config("c1"), nil)
	eventually(t, 5*time.Second, "the 30 undelayed events stored", func() bool { return e.eventCount() == 30 })
	if n := len(first.InFlight()); n != 3 {
		t.Fatalf("first member has %d records in flight, want the 3 delayed ones", n)
	}
	second := e.start(e.config("c2"), nil)
	eventually(t, 5*time.Second, "a partition moved to the second member", func() bool {
		return len(second.Snapshot().Partitions) == 1 && len(first.Snapshot().Partitions) == 2
	})
	if n := len(first.InFlight()); n != 2 {
		t.Errorf("first member has %d records in flight after the revoke, want 2", n)
	}
	eventually(t, 8*time.Second, "all 33 events stored and committed", func() bool {
		return e.eventCount() == 33 && maps.Equal(e.committed(), end)
	})
	s1, s2 := first.Snapshot(), second.Snapshot()
	if s1.Processed+s2.Processed != 33 {
		t.Errorf("members processed %d + %d events, want 33 in all", s1.Processed, s2.Processed)
	}
	if s2.Processed != 1 || s2.Duplicates != 10 {
		t.Errorf("second member processed %d and settled %d, want the delayed record and the 10 behind it", s2.Processed, s2.Duplicates)
	}
	if got := metricValue(t, e.metrics.rebalances.WithLabelValues("c1", "revoked")); got < 1 {
		t.Errorf("revoked rebalances of c1 = %v, want at least 1", got)
	}
}

// While the store is down, a member stops polling once MaxInFlight records
// are unfinished, and resumes without losing any when the store is back.
func TestMaxInFlightPausesPolling(t *testing.T) {
	e := newEnv(t)
	var rs []*kgo.Record
	for i := range 100 {
		rs = append(rs, eventRecord(t, int32(i%3), userEvent(fmt.Sprintf("bp-%d", i), fmt.Sprintf("u%d", i), event.TypePageView)))
	}
	e.produce(rs...)
	end := e.endOffsets()
	sink := &gateSink{Sink: e.db}
	cfg := e.config("c1")
	cfg.MaxInFlight = 10
	cfg.BatchSize = 4
	c := e.start(cfg, sink)

	eventually(t, 5*time.Second, "10 records in flight", func() bool { return c.Snapshot().InFlight == 10 })
	calls := sink.calls.Load()
	eventually(t, 5*time.Second, "three more failed writes", func() bool { return sink.calls.Load() >= calls+3 })
	if got := metricValue(t, e.metrics.consumed.WithLabelValues("c1")); got != 10 {
		t.Errorf("consumed %v records while the store was down, want MaxInFlight = 10", got)
	}
	sink.open.Store(true)
	eventually(t, 10*time.Second, "100 events stored and committed", func() bool {
		return e.eventCount() == 100 && maps.Equal(e.committed(), end)
	})
}

// A DLQ produce that fails is retried; meanwhile the record stays
// unfinished and its offset uncommitted.
func TestDLQProduceFailureRetried(t *testing.T) {
	e := newEnv(t)
	dlqDown := e.rejectDLQProduces()
	rs := e.produce(
		eventRecord(t, 0, userEvent("before", "bea", event.TypePageView)),
		&kgo.Record{Topic: testTopic, Partition: 0, Value: []byte(`not json`)},
		eventRecord(t, 0, userEvent("after", "abe", event.TypePageView)),
	)
	e.start(e.config("c1"), nil)

	eventually(t, 5*time.Second, "the valid events stored", func() bool { return e.eventCount() == 2 })
	eventually(t, 5*time.Second, "partition 0 committed up to the record waiting for the DLQ", func() bool {
		return e.committed()[0] == rs[1].Offset
	})
	// The dead letter may not have been sent yet when the commit above is
	// seen (it waits for its turn): wait for two more rejections, and for
	// three in all, which the metric must then count.
	n := dlqDown.rejected.Load()
	eventually(t, 5*time.Second, "two more rejected DLQ produces, three in all", func() bool {
		got := dlqDown.rejected.Load()
		return got >= n+2 && got >= 3
	})
	if got := e.committed()[0]; got != rs[1].Offset {
		t.Fatalf("committed offset %d while the record at %d waits for the DLQ", got, rs[1].Offset)
	}
	dlqDown.reject.Store(0)
	dlq := e.readDLQ(1)
	if off, _ := header(dlq[0], record.HeaderDLQOffset); off != strconv.FormatInt(rs[1].Offset, 10) {
		t.Errorf("DLQ record offset header = %s, want %d", off, rs[1].Offset)
	}
	if got := metricValue(t, e.metrics.dlqErrors.WithLabelValues("c1")); got < 3 {
		t.Errorf("DLQ produce errors metric = %v, want at least 3", got)
	}
	eventually(t, 5*time.Second, "partition 0 committed to its end", func() bool {
		return e.committed()[0] == rs[2].Offset+1
	})
}

// A record too large for the DLQ topic is dead-lettered with its value
// cut, rather than blocking its partition forever.
func TestDLQTooLargeValueTruncated(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	resp, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: ptr("20000")}}, testDLQ)
	if err == nil {
		_, err = resp.On(testDLQ, nil)
	}
	if err != nil {
		t.Fatalf("limit DLQ record size: %v", err)
	}
	// Random text, so that compression cannot bring it under the limit.
	junk := make([]byte, 52000)
	for i := range junk {
		junk[i] = byte(rand.N(256))
	}
	big := &kgo.Record{Topic: testTopic, Partition: 2, Value: []byte(`{"junk": "` + base64.StdEncoding.EncodeToString(junk) + `"}`)}
	e.produce(big)
	e.start(e.config("c1"), nil)
	dlq := e.readDLQ(1)[0]
	if got, _ := header(dlq, record.HeaderDLQTruncated); got != strconv.Itoa(len(big.Value)) {
		t.Errorf("%s header = %q, want the original size %d", record.HeaderDLQTruncated, got, len(big.Value))
	}
	if len(dlq.Value) != 0 {
		t.Errorf("DLQ value is %d bytes, want it dropped", len(dlq.Value))
	}
	if reason, _ := header(dlq, record.HeaderDLQError); !strings.Contains(reason, "over the limit") {
		t.Errorf("dlq_error = %q", reason)
	}
	end := e.endOffsets()
	eventually(t, 5*time.Second, "partition 2 committed past the record", func() bool { return e.committed()[2] == end[2] })
}

func ptr[T any](v T) *T { return &v }

// A record whose headers alone are too large for the DLQ topic (the
// adversarial corpus sent 1 MiB of them) is dead-lettered without them,
// and one whose key is too large without it, rather than retried for ever
// with its partition stuck behind it.
func TestDLQTooLargeHeadersAndKeyDropped(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	resp, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: ptr("20000")}}, testDLQ)
	if err == nil {
		_, err = resp.On(testDLQ, nil)
	}
	if err != nil {
		t.Fatalf("limit DLQ record size: %v", err)
	}
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rand.N(26))
		}
		return b
	}
	var hs []kgo.RecordHeader
	for i := range 40 {
		hs = append(hs, kgo.RecordHeader{Key: fmt.Sprintf("h%d", i), Value: junk(1000)})
	}
	headers := &kgo.Record{Topic: testTopic, Partition: 2, Key: []byte("k"), Value: []byte("not json"), Headers: hs}
	key := &kgo.Record{Topic: testTopic, Partition: 2, Key: junk(30000), Value: []byte("not json either")}
	e.produce(headers, key)
	e.start(e.config("c1"), nil)
	dlq := e.readDLQ(2)
	if got, _ := header(dlq[0], record.HeaderDLQHeadersDropped); got != "40" || len(dlq[0].Headers) > 12 || string(dlq[0].Key) != "k" {
		t.Errorf("first dead letter: %s %q, %d headers, key %q; want 40 original headers dropped and the key kept",
			record.HeaderDLQHeadersDropped, got, len(dlq[0].Headers), dlq[0].Key)
	}
	if got, _ := header(dlq[1], record.HeaderDLQKeyDropped); got != "30000" || len(dlq[1].Key) != 0 {
		t.Errorf("second dead letter: %s %q, key of %d bytes; want the key dropped", record.HeaderDLQKeyDropped, got, len(dlq[1].Key))
	}
	for _, d := range dlq {
		if reason, _ := header(d, record.HeaderDLQError); !strings.Contains(reason, "invalid JSON") {
			t.Errorf("dlq_error = %q", reason)
		}
	}
	end := e.endOffsets()
	eventually(t, 10*time.Second, "partition 2 committed past both records", func() bool { return e.committed()[2] == end[2] })
}
