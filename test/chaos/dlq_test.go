package chaos

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// header returns the value of a record header.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// poisonRecords are raw records with the defects the HTTP door rejects,
// keyed by what the DLQ reason must mention.
func poisonRecords(topic string) map[string]*kgo.Record {
	long := strings.Repeat("x", 2000)
	deep := strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200)
	rec := func(v string) *kgo.Record { return &kgo.Record{Topic: topic, Value: []byte(v)} }
	return map[string]*kgo.Record{
		"json":       rec(`{"user_id": "u1", "event_type": `),
		"user_id":    rec(`{"event_type": "page_view", "element_id": "e"}`),
		"event_type": rec(`{"user_id": "u1", "event_type": "no spaces allowed!"}`),
		"element_id": rec(`{"user_id": "u1", "event_type": "page_view", "element_id": "` + long + `"}`),
		"delay":      rec(`{"user_id": "u1", "event_type": "page_view", "delay_seconds": 99}`),
		"properties": rec(`{"user_id": "u1", "event_type": "page_view", "properties": ` + deep + `}`),
		"type":       rec(`{"user_id": 42, "event_type": "page_view"}`),
		"control":    rec("{\"user_id\": \"u\\u0000\\u0007\", \"event_type\": \"page_view\"}"),
		"binary":     rec("\xff\xfe\x00garbage"),
	}
}

// poisonReason is what the DLQ reason of each poison record must say.
var poisonReason = map[string]string{
	"json":       "invalid JSON",
	"user_id":    "user_id: is required",
	"event_type": "event_type: must match",
	"element_id": "element_id: is 2000 bytes, over the limit",
	"delay":      "delay_seconds: must be between 0 and",
	"properties": "properties: nests 200 levels deep",
	"type":       "user_id: must be a string, not number",
	"control":    "user_id: contains control character",
	"binary":     "invalid JSON",
}

// TestPoisonAndFailingBurst sends, in the middle of normal traffic,
// malformed records and a burst of 1,000 should_fail events: every one of
// them ends in the DLQ exactly once with its reason, and every normal
// event is stored.
func TestPoisonAndFailingBurst(t *testing.T) {
	dir := t.TempDir()
	httpAddr, brokerAddr := pulsetest.FreeAddr(t), pulsetest.FreeAddr(t)
	startServe(t, dir, httpAddr, brokerAddr)
	ctx := pulsetest.Context(t, 3*time.Minute)
	topic := config.Default().Kafka.Topic
	dlq := config.Default().Kafka.DLQTopic

	l := startLoad(t, brokerAddr, loadConfig{Rate: 300, Seed: 19})
	l.waitAcked(t, 300, 30*time.Second)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer cl.Close()
	poison := poisonRecords(topic)
	for what, r := range poison {
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce poison %s: %v", what, err)
		}
	}

	p, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: kafkaConfig(brokerAddr).Kafka, Name: "burst"}, nil, nil)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer p.Close()
	gen := generator.New(generator.Config{Seed: 23})
	burst := make([]*event.Event, 1000)
	failing := make(map[string]bool, len(burst))
	for i := range burst {
		e := gen.Next()
		e.ShouldFail, e.DelaySeconds = true, 0
		burst[i] = &e
	}
	start := time.Now()
	if err := p.ProduceBatch(ctx, burst, event.SourceProducer, "chaos-burst"); err != nil {
		t.Fatalf("produce burst: %v", err)
	}
	for _, e := range burst {
		failing[e.EventID] = true
	}
	l.waitAcked(t, len(l.ackedIDs())+600, 30*time.Second)
	l.stop()

	want := len(failing) + len(poison)
	var recs []*kgo.Record
	pulsetest.WaitFor(t, 120*time.Second, "every failing and poison record in the DLQ", func() error {
		recs, err = topicRecords(ctx, brokerAddr, dlq)
		if err != nil {
			return err
		}
		if len(recs) < want {
			return fmt.Errorf("%d of %d in the DLQ", len(recs), want)
		}
		return nil
	})
	dlqTime := time.Since(start)
	v := waitExactlyOnce(t, brokerAddr, "dashboard_consumer_group", filepath.Join(dir, "pulse.db"), l.ackedIDs(), 60*time.Second)

	// Read the DLQ once more at the end: nothing may have been added twice.
	recs, err = topicRecords(ctx, brokerAddr, dlq)
	if err != nil {
		t.Fatalf("read DLQ: %v", err)
	}
	if len(recs) != want {
		t.Errorf("DLQ holds %d records, want %d (1,000 failing + %d poison)", len(recs), want, len(poison))
	}
	seen := make(map[string]int)
	reasons := make(map[string]string)
	for _, r := range recs {
		if header(r, "dlq_original_topic") != topic || header(r, "dlq_error") == "" || header(r, "dlq_original_offset") == "" {
			t.Errorf("DLQ record without its headers: %v", r.Headers)
		}
		var id string
		if e, err := event.Decode(r.Value); err == nil {
			id = e.EventID
		}
		if failing[id] {
			seen[id]++
			if a := header(r, "dlq_attempts"); a != "4" {
				t.Errorf("failing event %s went to the DLQ after %q attempts, want 4 (1 + 3 retries)", id, a)
			}
			continue
		}
		reasons[string(r.Value)] = header(r, "dlq_error")
	}
	for id := range failing {
		if seen[id] != 1 {
			t.Errorf("failing event %s is in the DLQ %d times", id, seen[id])
		}
	}
	for what, r := range poison {
		reason, ok := reasons[string(r.Value)]
		if !ok {
			t.Errorf("poison record %q (%s) is not in the DLQ", trim(string(r.Value)), what)
			continue
		}
		if want := poisonReason[what]; !strings.Contains(reason, want) {
			t.Errorf("poison record %s: dead-lettered with reason %q, want it to mention %q", what, reason, want)
		}
		t.Logf("poison %-10s → %s", what, reason)
	}
	stored, err := storedIDs(ctx, filepath.Join(dir, "pulse.db"), "events")
	if err != nil {
		t.Fatalf("read store: %v", err)
	}
	for id := range failing {
		if stored[id] > 0 {
			t.Errorf("failing event %s was stored", id)
		}
	}
	t.Logf("poison and burst: %d poison records and 1,000 should_fail events all in the DLQ %v after the burst; normal traffic %v", len(poison), dlqTime.Round(100*time.Millisecond), v)
}

func trim(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// TestSimulationSwitchedOff runs serve with --simulate=false: an event
// asking to fail after a 30 s delay is stored at once and not
// dead-lettered, so a public ingest cannot be used to clog the consumers.
func TestSimulationSwitchedOff(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, pulsetest.FreeAddr(t), pulsetest.FreeAddr(t), "--simulate=false")
	resp, body := request(t, "POST", "http://"+s.http+"/api/events/create/",
		`{"user_id":"u1","event_type":"page_view","should_fail":true,"delay_seconds":30}`, "Content-Type", "application/json")
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	start := time.Now()
	ctx := pulsetest.Context(t, time.Minute)
	pulsetest.WaitFor(t, 20*time.Second, "the event stored", func() error {
		stored, err := storedIDs(ctx, filepath.Join(dir, "pulse.db"), "events")
		if err != nil {
			return err
		}
		if len(stored) != 1 {
			return fmt.Errorf("%d stored", len(stored))
		}
		return nil
	})
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("stored after %v: the delay was honoured", d)
	}
	if n := topicEnd(t, s.broker, config.Default().Kafka.DLQTopic); n != 0 {
		t.Errorf("%d records in the DLQ with simulation off", n)
	}
}
