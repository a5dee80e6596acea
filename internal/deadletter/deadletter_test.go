package deadletter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/pipeline"
	"github.com/pulse-dev/pulse/internal/record"
)

func TestKindRemovesSpecifics(t *testing.T) {
	for reason, want := range map[string]string{
		pipeline.ErrSimulated.Error(): "simulated failure",
		"invalid JSON at byte 17: invalid character 'x' looking for beginning of value": "invalid JSON",
		"invalid JSON: expected an object":                                              "invalid JSON",
		"user_id: is required":                                                          "user_id: is required",
		"message: is 5000 bytes, over the limit of 4096":                                "message: is N bytes, over the limit of N",
		"element_id: contains control character U+0007":                                 "element_id: contains control character U+…",
		"delay_seconds: must be a number, not string":                                   "delay_seconds: must be a number, not string",
		"": "unknown",
	} {
		if got := Kind(reason); got != want {
			t.Errorf("Kind(%q) = %q, want %q", reason, got, want)
		}
	}
	// Alike errors share a kind.
	if Kind("properties: is 70000 bytes, over the limit of 32768") != Kind("properties: is 99999 bytes, over the limit of 32768") {
		t.Fatal("sizes split a kind")
	}
}

func dlqRecord(value string, headers map[string]string) Record {
	kr := &kgo.Record{Topic: "user_events_dlq", Partition: 2, Offset: 7, Key: []byte("u1:page_view"), Value: []byte(value), Timestamp: time.Now()}
	for k, v := range headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return parseDLQ(kr)
}

func TestReplayRecord(t *testing.T) {
	o := &Service{cfg: Config{Topic: "user_events", DLQTopic: "user_events_dlq"}}
	hdrs := map[string]string{
		record.HeaderDLQTopic: "user_events", record.HeaderDLQPartition: "1", record.HeaderDLQOffset: "42",
		record.HeaderDLQError: pipeline.ErrSimulated.Error(), record.HeaderDLQAttempts: "4", record.HeaderDLQConsumerID: "c-1",
		record.HeaderDLQFailedAt: "2026-01-02T03:04:05Z", "source": "api", "request_id": "r1",
	}
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

	// No event_id: the original's derived id is carried in a header (a
	// dead letter of an earlier Pulse has none, so it is derived from
	// the coordinates as it was then) so the replay deduplicates against
	// it; the simulation fields go.
	d := dlqRecord(`{"user_id":"u1","event_type":"page_view","should_fail":true,"delay_seconds":2,"properties":{"a":1}}`, hdrs)
	if d.ID != "2:7" || d.OriginalOffset != 42 || d.OriginalPartition != 1 || d.Attempts != 4 || d.Kind != "simulated failure" ||
		d.ConsumerID != "c-1" || d.FailedAt.Year() != 2026 || d.EventID != "" {
		t.Fatalf("parsed %+v", d)
	}
	r := o.replayRecord(d, true, now)
	var v map[string]any
	if err := json.Unmarshal(r.Value, &v); err != nil {
		t.Fatal(err)
	}
	if v["event_id"] != nil || v["should_fail"] != nil || v["delay_seconds"] != nil || v["properties"] == nil {
		t.Fatalf("replayed value %s", r.Value)
	}
	got := map[string]string{}
	for _, h := range r.Headers {
		got[h.Key] = string(h.Value)
	}
	if r.Topic != "user_events" || string(r.Key) != "u1:page_view" || got[record.HeaderReplayOf] != "user_events_dlq/2/7" ||
		got[record.HeaderReplayedAt] != "2026-02-03T04:05:06Z" || got["source"] != "api" || got["request_id"] != "r1" || got[record.HeaderDLQError] != "" ||
		got[record.HeaderReplayEventID] != event.DerivedID("user_events", 1, 42) {
		t.Fatalf("replayed record %+v headers %v", r, got)
	}

	// Without stripping, the simulation stays; an event_id is kept as is.
	d = dlqRecord(`{"event_id":"e-1","user_id":"u1","event_type":"page_view","should_fail":true}`, hdrs)
	r = o.replayRecord(d, false, now)
	if string(r.Value) != `{"event_id":"e-1","user_id":"u1","event_type":"page_view","should_fail":true}` || d.EventID != "e-1" {
		t.Fatalf("unstripped %s", r.Value)
	}
	// Not JSON: replayed verbatim.
	d = dlqRecord(`not json`, hdrs)
	if r = o.replayRecord(d, true, now); string(r.Value) != "not json" || d.EventID != "" {
		t.Fatalf("verbatim %s", r.Value)
	}
}

func TestTextOfCutsOnARuneBoundary(t *testing.T) {
	s := textOf([]byte(strings.Repeat("é", 10)), 5)
	if s != "éé" || !utf8.ValidString(textOf([]byte{0xff, 'a'}, 10)) {
		t.Fatalf("%q", s)
	}
}
