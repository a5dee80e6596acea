package event

import (
	"encoding/json"
	"testing"
)

// FuzzDecode checks that Decode never panics and that whatever it accepts
// is valid and survives a JSON round trip unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"user_001","event_type":"button_click","element_id":"btn_submit","timestamp":"2024-01-15T10:30:00Z"}`,
		`{"user_id":"u","event_type":"api_call","properties":{"a":[1,{"b":"c"}]},"delay_seconds":1.5,"should_fail":true}`,
		`{"user_id":"u","event_type":"page_view","timestamp":"2024-01-15T10:30:00.123456"}`,
		`{"user_id":42}`, `[]`, `{`, `{"user_id":"u","event_type":"x","properties":"s"}`,
		// Accepted once and then impossible to write back as JSON.
		`{"user_id":"u","event_type":"x","timestamp":"9999-12-31T23:59:59-23:59"}`,
		`{"user_id":"u","event_type":"x","timestamp":"0001-01-01T00:00:00+01:00","properties":{"n":1e400}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			if !IsInvalid(err) {
				t.Fatalf("error not *Error: %v", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted an invalid event: %v", err)
		}
		out, err := json.Marshal(&e)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", out, err)
		}
		if again.EventID != e.EventID || again.UserID != e.UserID || again.EventType != e.EventType ||
			!again.Timestamp.Equal(e.Timestamp) || again.DelaySeconds != e.DelaySeconds {
			t.Fatalf("round trip changed the event: %+v vs %+v", e, again)
		}
	})
}
