package privacy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/event"
)

func testMasker(t *testing.T, fields ...string) *Masker {
	t.Helper()
	parsed, err := ParseFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	return NewMasker([]byte("0123456789abcdef0123456789abcdef"), NewSet(parsed))
}

func TestParseFieldsRefusesWhatNoEventHas(t *testing.T) {
	for _, in := range [][]string{
		{"email"}, {"properties."}, {"properties.a..b"}, {"page"}, {"properties." + strings.Repeat("x", MaxFieldLen)},
		make([]string, MaxFields+1),
	} {
		if _, err := ParseFields(in); err == nil {
			t.Errorf("ParseFields(%.60q) passed", in)
		}
	}
	got, err := ParseFields([]string{" session_id", "properties.email", "user_id", "properties.email"})
	if err != nil || strings.Join(got, ",") != "properties.email,session_id,user_id" {
		t.Fatalf("ParseFields = %v, %v", got, err)
	}
}

func TestPersonalCoversEveryPathThatReachesADeclaredValue(t *testing.T) {
	s := NewSet([]string{"user_id", "properties.address.city", "properties.email"})
	for field, want := range map[string]bool{
		"user_id": true, "session_id": false, "page": false, "event_type": false,
		"properties.email": true, "properties.address": true, "properties.address.city": true,
		"properties.address.city.part": true, "properties.address.zip": false, "properties.plan": false,
		"properties.emails": false, "properties.EMAIL": true,
	} {
		if got := s.Personal(field); got != want {
			t.Errorf("Personal(%q) = %v, want %v", field, got, want)
		}
	}
}

func TestEventMasksEveryDeclaredFieldAndNothingElse(t *testing.T) {
	m := testMasker(t, "user_id", "session_id", "anonymous_id", "properties.email", "properties.address.city", "properties.n")
	in := event.Event{
		EventID: "e1", UserID: "alice", SessionID: "s-alice", AnonymousID: "anon-alice", Page: "/pricing",
		Properties: json.RawMessage(`{"email":"alice@example.com","plan":"pro","address":{"city":"Lyon","zip":"69001"},"n":12345678901234567890}`),
	}
	out := m.Event(in)
	if in.UserID != "alice" || !strings.Contains(string(in.Properties), "alice@example.com") {
		t.Fatal("Event changed its argument")
	}
	encoded, _ := json.Marshal(out)
	for _, secret := range []string{"alice", "Lyon", "12345678901234567890"} {
		if strings.Contains(string(encoded), secret) {
			t.Errorf("masked event still holds %q: %s", secret, encoded)
		}
	}
	for _, kept := range []string{`"plan":"pro"`, `"zip":"69001"`, `"page":"/pricing"`, `"event_id":"e1"`} {
		if !strings.Contains(string(encoded), kept) {
			t.Errorf("masked event lost %s: %s", kept, encoded)
		}
	}
	if out.UserID != m.Value("alice") || !IsMasked(out.UserID) || out.UserID == out.SessionID {
		t.Errorf("user_id masked as %q, session_id as %q", out.UserID, out.SessionID)
	}
}

// The client's address the collector keeps is personal whatever the
// team declares, nothing included, and is not listed as declared.
func TestTheClientIPIsAlwaysPersonal(t *testing.T) {
	m := testMasker(t)
	if s := m.Fields(); !s.Personal("properties.pulse_client_ip") || s.Personal("properties.plan") || len(s.List()) != 0 {
		t.Fatalf("Personal(pulse_client_ip) %t, Personal(plan) %t, List %v", s.Personal("properties.pulse_client_ip"),
			s.Personal("properties.plan"), s.List())
	}
	out := m.Event(event.Event{EventID: "e1", Properties: json.RawMessage(`{"pulse_client_ip":"203.0.113.77","plan":"pro"}`)})
	if strings.Contains(string(out.Properties), "203.0.113.77") || !strings.Contains(string(out.Properties), `"plan":"pro"`) {
		t.Errorf("masked properties %s", out.Properties)
	}
	if payload, _ := m.Payload([]byte(`{"event_id":"e1","properties":{"pulse_client_ip":"203.0.113.77"}}`)); strings.Contains(string(payload), "203.0.113.77") {
		t.Errorf("masked payload %s", payload)
	}
}

func TestPseudonymsAreStableAndKeyed(t *testing.T) {
	a := testMasker(t, "user_id")
	b := NewMasker([]byte("another key, another deployment"), NewSet([]string{"user_id"}))
	// Two calls, which staticcheck would take for one expression twice.
	first, again := a.Value("u1"), a.Value("u1")
	if first != again || first == a.Value("u2") {
		t.Fatal("a pseudonym must be the same for the same value and differ for another")
	}
	if a.Value("u1") == b.Value("u1") {
		t.Fatal("the pseudonym does not depend on the key: anyone could hash a guess")
	}
	if a.Value("") != "" {
		t.Fatal("an absent value is shown absent")
	}
}

func TestUnparsablePropertiesAreWithheldWhole(t *testing.T) {
	m := testMasker(t, "properties.email")
	out := m.Event(event.Event{Properties: json.RawMessage(`{"email":"bob@example.com"`)})
	if strings.Contains(string(out.Properties), "bob") {
		t.Fatalf("properties that do not parse came through: %s", out.Properties)
	}
}

func TestPayloadMasksAnEventAndWithholdsTheRest(t *testing.T) {
	m := testMasker(t, "user_id", "properties.email")
	out, withheld := m.Payload([]byte(`{"user_id":"carol","event_type":"click","properties":{"email":"carol@example.com"}}`))
	if withheld || strings.Contains(string(out), "carol") || !strings.Contains(string(out), `"event_type":"click"`) {
		t.Fatalf("Payload = %s, %v", out, withheld)
	}
	for _, raw := range []string{`not json carol`, `{"user_id":"carol"} {"x":1}`, `["carol"]`, "{\"user_id\":\"carol\xff\"}"} {
		out, withheld := m.Payload([]byte(raw))
		if !withheld || out != nil {
			t.Errorf("Payload(%q) = %q, %v; want it withheld", raw, out, withheld)
		}
	}
	out, _ = m.Payload([]byte(`{"user_id":"carol","properties":"carol@example.com"}`))
	if strings.Contains(string(out), "carol") {
		t.Errorf("properties that are not an object came through: %s", out)
	}
}

func TestPayloadMasksAFieldWhateverItsCase(t *testing.T) {
	m := testMasker(t, "user_id", "properties.email")
	out, withheld := m.Payload([]byte(`{"User_ID":"dave","PROPERTIES":{"Email":"dave@example.com"}}`))
	if withheld || strings.Contains(string(out), "dave") {
		t.Fatalf("Payload = %s, %v", out, withheld)
	}
}

func TestRecordKeyMasksTheUserAndKeepsTheType(t *testing.T) {
	m := testMasker(t, "user_id")
	if got := m.RecordKey("erin:with:colons:page_view"); got != m.Value("erin:with:colons")+":page_view" {
		t.Fatalf("RecordKey = %q", got)
	}
	if got := m.RecordKey("erin"); got != m.Value("erin") {
		t.Fatalf("RecordKey without a type = %q", got)
	}
	if got := testMasker(t, "session_id").RecordKey("erin:click"); got != "erin:click" {
		t.Fatalf("user_id not personal, RecordKey = %q", got)
	}
}
