package chaos

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// topicEnd is the number of records in a topic.
func topicEnd(t *testing.T, addr, topic string) int64 {
	t.Helper()
	a, err := kafka.NewAdmin(kafkaConfig(addr).Kafka, nil, nil)
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	defer a.Close()
	d, err := a.DescribeTopic(pulsetest.Context(t, 30*time.Second), topic, "")
	if err != nil {
		t.Fatalf("describe %s: %v", topic, err)
	}
	return d.Records
}

// TestBadInputOverHTTP posts every kind of defect to a real serve: each
// gets its 4xx with a JSON error naming the problem, nothing reaches the
// topic, and the server keeps serving.
func TestBadInputOverHTTP(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t))
	url := "http://" + s.http + "/api/events/create/"
	topic := config.Default().Kafka.Topic
	deep := strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)
	ok := func(extra string) string {
		return `{"user_id":"u1","event_type":"page_view","element_id":"e1"` + extra + `}`
	}
	cases := []struct {
		name, body, ctype string
		status            int
		mention           string // the error must name this
	}{
		{"oversized body", ok(`,"message":"` + strings.Repeat("x", 70<<10) + `"`), "application/json", 413, "limit"},
		{"not JSON content type", ok(""), "text/plain", 415, ""},
		{"invalid JSON", `{"user_id": "u1", "event_type": `, "application/json", 400, "JSON"},
		{"JSON array", `[1,2,3]`, "application/json", 400, ""},
		{"trailing garbage", ok("") + `{}`, "application/json", 400, ""},
		{"missing user_id", `{"event_type":"page_view"}`, "application/json", 400, "user_id"},
		{"missing event_type", `{"user_id":"u1"}`, "application/json", 400, "event_type"},
		{"empty user_id", `{"user_id":"","event_type":"page_view"}`, "application/json", 400, "user_id"},
		{"user_id a number", `{"user_id":42,"event_type":"page_view"}`, "application/json", 400, "user_id"},
		{"event_type an object", `{"user_id":"u1","event_type":{"a":1}}`, "application/json", 400, "event_type"},
		{"delay_seconds a string", ok(`,"delay_seconds":"5"`), "application/json", 400, "delay_seconds"},
		{"should_fail a string", ok(`,"should_fail":"yes"`), "application/json", 400, "should_fail"},
		{"properties an array", ok(`,"properties":[1,2]`), "application/json", 400, "properties"},
		{"unknown event type format", `{"user_id":"u1","event_type":"Robert'); DROP TABLE events;--"}`, "application/json", 400, "event_type"},
		{"huge element_id", ok(`,"element_id":"` + strings.Repeat("e", 5000) + `"`), "application/json", 400, "element_id"},
		{"huge user_id", `{"user_id":"` + strings.Repeat("u", 5000) + `","event_type":"page_view"}`, "application/json", 400, "user_id"},
		{"control character", `{"user_id":"u\u0000x","event_type":"page_view"}`, "application/json", 400, "user_id"},
		{"escape character in page", ok(`,"page":"/a\u001b[31m"`), "application/json", 400, "page"},
		{"deep properties", ok(`,"properties":` + deep), "application/json", 400, "properties"},
		{"delay out of range", ok(`,"delay_seconds":31`), "application/json", 400, "delay_seconds"},
		{"negative delay", ok(`,"delay_seconds":-1`), "application/json", 400, "delay_seconds"},
		{"bad timestamp", ok(`,"timestamp":"yesterday"`), "application/json", 400, "timestamp"},
	}
	before := topicEnd(t, s.broker, topic)
	for _, c := range cases {
		resp, body := request(t, "POST", url, c.body, "Content-Type", c.ctype)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, trim(body), c.status)
			continue
		}
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
			t.Errorf("%s: body %q is not a JSON error", c.name, trim(body))
			continue
		}
		if !strings.Contains(e.Error, c.mention) {
			t.Errorf("%s: error %q does not name %q", c.name, e.Error, c.mention)
		}
	}
	// Batches: one bad event rejects the whole batch.
	resp, body := request(t, "POST", "http://"+s.http+"/api/events/batch/",
		`{"events":[`+ok("")+`,{"user_id":"u2"}]}`, "Content-Type", "application/json")
	if resp.StatusCode != 400 || !strings.Contains(body, "event_type") {
		t.Errorf("batch with one bad event: %d %s", resp.StatusCode, trim(body))
	}
	if after := topicEnd(t, s.broker, topic); after != before {
		t.Errorf("bad requests produced %d records", after-before)
	}
	if s.Exited() {
		t.Fatalf("serve died: %v", s.Err())
	}
	if code, err := s.health(); err != nil || code != 200 {
		t.Errorf("health after the bad input: %d %v", code, err)
	}
}

// TestInjectionStoredVerbatim posts SQL-looking and HTML/script values in
// every displayed field: they are accepted, stored as they are and
// returned as JSON strings, never interpreted.
func TestInjectionStoredVerbatim(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t))
	values := map[string]string{
		"user_id":    `u1'; DROP TABLE events; --`,
		"element_id": `<img src=x onerror=alert(1)>`,
		"session_id": `" OR "1"="1`,
		"page":       `/<script>alert(document.cookie)</script>`,
		"message":    `</textarea><svg/onload=alert('x')> ' UNION SELECT * FROM messages --`,
	}
	ev := map[string]any{"event_type": "page_view", "properties": map[string]string{"note": `<b onmouseover="x()">hi</b>`, "sql": `1; DELETE FROM events`}}
	for k, v := range values {
		ev[k] = v
	}
	b, _ := json.Marshal(ev)
	resp, body := request(t, "POST", "http://"+s.http+"/api/events/create/", string(b), "Content-Type", "application/json")
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatalf("create answer %q: %v", body, err)
	}
	var got map[string]any
	pulsetest.WaitFor(t, 30*time.Second, "the event in /api/events/latest/", func() error {
		resp, body := request(t, "GET", "http://"+s.http+"/api/events/latest/?limit=10", "")
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("latest events served as %q", ct)
		}
		var list struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			var bare []map[string]any
			if err2 := json.Unmarshal([]byte(body), &bare); err2 != nil {
				return fmt.Errorf("decode %q: %v", trim(body), err)
			}
			list.Events = bare
		}
		for _, e := range list.Events {
			if e["event_id"] == created.EventID {
				got = e
				return nil
			}
		}
		return fmt.Errorf("not there yet")
	})
	for k, v := range values {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q verbatim", k, got[k], v)
		}
	}
	props, _ := got["properties"].(map[string]any)
	if props["note"] != `<b onmouseover="x()">hi</b>` || props["sql"] != `1; DELETE FROM events` {
		t.Errorf("properties not kept verbatim: %v", got["properties"])
	}
	if code, err := s.health(); err != nil || code != 200 {
		t.Errorf("health after the injection: %d %v", code, err)
	}
}

// TestInvalidUTF8Rejected posts a user_id with bytes that are not UTF-8.
// The validator means to reject them ("is not valid UTF-8"), but
// encoding/json replaces them with U+FFFD before it looks, so the event
// would be stored altered.
func TestInvalidUTF8Rejected(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t))
	topic := config.Default().Kafka.Topic
	before := topicEnd(t, s.broker, topic)
	resp, body := request(t, "POST", "http://"+s.http+"/api/events/create/",
		"{\"user_id\":\"u\xff\xfe\",\"event_type\":\"page_view\"}", "Content-Type", "application/json")
	if resp.StatusCode != 400 || !strings.Contains(body, "user_id") {
		t.Errorf("user_id with invalid UTF-8: %d %s, want 400 naming user_id", resp.StatusCode, trim(body))
	}
	if after := topicEnd(t, s.broker, topic); after != before {
		t.Errorf("the request produced %d records", after-before)
	}
}
