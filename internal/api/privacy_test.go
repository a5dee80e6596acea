package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/deadletter"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/store"
)

func testMasker(t *testing.T, fields ...string) *privacy.Masker {
	t.Helper()
	parsed, err := privacy.ParseFields(fields)
	if err != nil {
		t.Fatal(err)
	}
	return privacy.NewMasker([]byte("a key of thirty-two bytes, fixed"), privacy.NewSet(parsed))
}

// A tracking-plan warning keeps its example event and its reason for a
// masked reader with the personal values out: the example masked, or
// withheld when cut (a JSON string), and the reason of a warning about a
// personal field withheld (a format error quotes the value).
func TestPlanWarningsAreMasked(t *testing.T) {
	m := testMasker(t, "user_id", "properties.email")
	ws := []store.PlanWarning{
		{Field: "properties.email", Reason: "'ann@example.com' is not valid email",
			Example: json.RawMessage(`{"user_id":"ann","event_type":"signup","properties":{"email":"ann@example.com","plan":"pro"}}`)},
		{Field: "properties.plan", Reason: "value must be one of 'free', 'pro'", Example: json.RawMessage(`"{\"user_id\":\"ann\",\"event_ty…"`)},
	}
	maskPlanWarnings(m, ws)
	out, _ := json.Marshal(ws)
	if strings.Contains(string(out), `"ann"`) || strings.Contains(string(out), "ann@") || strings.Contains(string(out), `user_id\":\"ann`) {
		t.Fatalf("masked warnings still name the user: %s", out)
	}
	if ws[1].Reason != "value must be one of 'free', 'pro'" || !strings.Contains(string(ws[0].Example), `"plan":"pro"`) {
		t.Fatalf("masking took more than the personal values: %s", out)
	}
}

// A dead letter's key and payload lose the user; a payload that is not
// an object is withheld.
func TestDeadLettersAreMasked(t *testing.T) {
	m := testMasker(t, "user_id")
	v := deadletter.View{Groups: []deadletter.Group{{Records: []deadletter.Record{
		{Key: "bob:page_view", Payload: `{"user_id":"bob","event_type":"page_view"}`},
		{Key: "bob", Payload: `user_id=bob`},
	}}}}
	maskDeadLetters(m, &v)
	out, _ := json.Marshal(v)
	if strings.Contains(string(out), "bob") || !strings.Contains(string(out), ":page_view") || v.Groups[0].Records[1].Payload != withheldPayload {
		t.Fatalf("masked dead letters: %s", out)
	}
}
