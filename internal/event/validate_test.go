package event

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecodeAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want func(t *testing.T, e Event)
	}{
		{"seed format", `{"user_id":"user_001","event_type":"button_click","element_id":"btn_submit","timestamp":"2024-01-15T10:30:00Z"}`,
			func(t *testing.T, e Event) {
				if e.UserID != "user_001" || e.EventType != TypeButtonClick || e.ElementID != "btn_submit" {
					t.Fatalf("fields: %+v", e)
				}
				if !e.Timestamp.Equal(time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)) {
					t.Fatalf("timestamp %v", e.Timestamp)
				}
			}},
		{"python isoformat without zone", `{"user_id":"u","event_type":"page_view","timestamp":"2024-01-15T10:30:00.123456"}`,
			func(t *testing.T, e Event) {
				if e.Timestamp.Nanosecond() != 123456000 {
					t.Fatalf("timestamp %v", e.Timestamp)
				}
			}},
		{"custom type and simulation fields", `{"user_id":"u","event_type":"video_play_2","delay_seconds":5,"should_fail":true}`,
			func(t *testing.T, e Event) {
				if e.DelaySeconds != 5 || !e.ShouldFail {
					t.Fatalf("simulation: %+v", e)
				}
			}},
		{"properties object kept verbatim", `{"user_id":"u","event_type":"api_call","properties":{"a":[1,{"b":2}]}}`,
			func(t *testing.T, e Event) {
				if string(e.Properties) != `{"a":[1,{"b":2}]}` {
					t.Fatalf("properties %s", e.Properties)
				}
			}},
		{"null properties dropped", `{"user_id":"u","event_type":"api_call","properties":null}`,
			func(t *testing.T, e Event) {
				if e.Properties != nil {
					t.Fatalf("properties %s", e.Properties)
				}
			}},
		{"unknown fields ignored", `{"user_id":"u","event_type":"page_view","extra":1}`, func(*testing.T, Event) {}},
		{"message may be multi-line", `{"user_id":"u","event_type":"form_submit","message":"a\nb\tc"}`, func(*testing.T, Event) {}},
		{"SQL and HTML are plain text", `{"user_id":"'; DROP TABLE events; --","event_type":"page_view","element_id":"<script>alert(1)</script>"}`,
			func(t *testing.T, e Event) {
				if e.ElementID != "<script>alert(1)</script>" {
					t.Fatalf("element %q", e.ElementID)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Decode([]byte(tc.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tc.want(t, e)
		})
	}
}

func TestDecodeRejectsNamingTheField(t *testing.T) {
	long := strings.Repeat("x", MaxIDLen+1)
	deep := `{"user_id":"u","event_type":"t","properties":` + strings.Repeat(`{"a":`, MaxPropertiesDepth+1) + `1` + strings.Repeat(`}`, MaxPropertiesDepth+1) + `}`
	for _, tc := range []struct {
		name, in, field string
	}{
		{"not JSON", `{"user_id":`, ""},
		{"not an object", `[1,2]`, ""},
		{"empty", ``, ""},
		{"missing user_id", `{"event_type":"page_view"}`, "user_id"},
		{"empty user_id", `{"user_id":"","event_type":"page_view"}`, "user_id"},
		{"missing event_type", `{"user_id":"u"}`, "event_type"},
		{"bad event_type format", `{"user_id":"u","event_type":"Page View"}`, "event_type"},
		{"user_id wrong type", `{"user_id":42,"event_type":"page_view"}`, "user_id"},
		{"delay wrong type", `{"user_id":"u","event_type":"page_view","delay_seconds":"5"}`, "delay_seconds"},
		{"should_fail wrong type", `{"user_id":"u","event_type":"page_view","should_fail":"yes"}`, "should_fail"},
		{"delay too long", `{"user_id":"u","event_type":"page_view","delay_seconds":31}`, "delay_seconds"},
		{"delay negative", `{"user_id":"u","event_type":"page_view","delay_seconds":-1}`, "delay_seconds"},
		{"user_id too long", `{"user_id":"` + long + `","event_type":"page_view"}`, "user_id"},
		{"element_id too long", `{"user_id":"u","event_type":"page_view","element_id":"` + long + `"}`, "element_id"},
		{"control character", `{"user_id":"u\u0000","event_type":"page_view"}`, "user_id"},
		{"invalid UTF-8", "{\"user_id\":\"u\xff\xfe\",\"event_type\":\"page_view\"}", "user_id"},
		{"bad timestamp", `{"user_id":"u","event_type":"page_view","timestamp":"yesterday"}`, "timestamp"},
		{"properties not an object", `{"user_id":"u","event_type":"page_view","properties":[1]}`, "properties"},
		{"properties too deep", deep, "properties"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			if err == nil {
				t.Fatal("Decode accepted it")
			}
			ve, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if ve.Field != tc.field {
				t.Fatalf("field %q, want %q (%v)", ve.Field, tc.field, err)
			}
			if !IsInvalid(err) {
				t.Fatal("IsInvalid false")
			}
		})
	}
}

func TestDecodeRejectsOversizedRecord(t *testing.T) {
	big := `{"user_id":"u","event_type":"page_view","message":"` + strings.Repeat("x", MaxRecordBytes) + `"}`
	if _, err := Decode([]byte(big)); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("err %v", err)
	}
}

func TestNormalizeAndKey(t *testing.T) {
	e := Event{UserID: "user_7", EventType: "button_click"}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	e.Normalize(now)
	if len(e.EventID) != 36 || !e.Timestamp.Equal(now) || e.Timestamp.Location() != time.UTC {
		t.Fatalf("normalized %+v", e)
	}
	id := e.EventID
	e.Normalize(now.Add(time.Hour))
	if e.EventID != id || !e.Timestamp.Equal(now) {
		t.Fatal("Normalize overwrote set fields")
	}
	if got := string(e.Key()); got != "user_7:button_click" {
		t.Fatalf("key %q", got)
	}
}

func TestDerivedIDIsStable(t *testing.T) {
	a := DerivedID("user_events", 1, 42)
	if a != DerivedID("user_events", 1, 42) {
		t.Fatal("not stable")
	}
	for _, other := range []string{DerivedID("user_events", 1, 43), DerivedID("user_events", 2, 42), DerivedID("other", 1, 42)} {
		if other == a {
			t.Fatal("collision")
		}
	}
}

// TestDecodeRefusesRepeatedMembers: encoding/json would keep the last of
// two values silently, so a client and Pulse could read different events.
func TestDecodeRefusesRepeatedMembers(t *testing.T) {
	for in, want := range map[string]string{
		`{"user_id":"u","user_id":"v","event_type":"page_view"}`:                           "user_id: appears more than once",
		`{"user_id":"u","event_type":"page_view","properties":{"a":{"b":1,"b":2}}}`:        "properties: member /a/b appears more than once",
		`{"user_id":"u","event_type":"page_view","delay_seconds":1e400}`:                   "delay_seconds: must be a number that fits",
		`{"user_id":"u","event_type":"page_view","should_fail":{}}`:                        "should_fail: must be a boolean, not object",
		`{"user_id":"u","event_type":"page_view","page":["/a"]}`:                           "page: must be a string, not array",
		`{"user_id":"u","event_type":"page_view","timestamp":"2024-01-15T10:30:00Z"} true`: "invalid JSON at byte 76",
	} {
		_, err := Decode([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}

func TestValidTypeMatchesTypePattern(t *testing.T) {
	for _, s := range []string{"", "a", "page_view", "video_play_2", "A", "1abc", "_a", "a-b", "a b", "é", "aé",
		strings.Repeat("a", MaxTypeLen), strings.Repeat("a", MaxTypeLen+1), "a\n", "a_", "z9"} {
		if got, want := validType(s), TypePattern.MatchString(s); got != want {
			t.Errorf("validType(%q) = %v, TypePattern says %v", s, got, want)
		}
	}
}

// TestTimestampBounds: a valid RFC 3339 time outside the years JSON can
// write, once in UTC, was stored from Kafka and then broke every read of
// it; the zero time was silently replaced by the time of ingest. Both are
// refused, and the error says the accepted range.
func TestTimestampBounds(t *testing.T) {
	const bounds = "outside the accepted range 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z"
	for _, tc := range []struct{ in, want string }{
		{"9999-12-31T23:59:59-23:59", "is 10000-01-01T23:58:59Z in UTC, " + bounds},
		{"0001-01-01T00:00:00+01:00", "is 0000-12-31T23:00:00Z in UTC, " + bounds},
		{"0001-01-01T00:00:00Z", "is 0001-01-01T00:00:00Z in UTC, " + bounds},
		{"0001-01-01T00:00:00", "is 0001-01-01T00:00:00Z in UTC, " + bounds},
		{"1969-12-31T23:59:59.999999999Z", bounds},
		{"1970-01-01T00:59:59+01:00", bounds},
	} {
		_, err := Decode([]byte(`{"user_id":"u","event_type":"page_view","timestamp":"` + tc.in + `"}`))
		var ve *Error
		if !errors.As(err, &ve) || ve.Field != "timestamp" || !strings.Contains(ve.Reason, tc.want) {
			t.Errorf("%s: err = %v, want timestamp: ...%s", tc.in, err, tc.want)
		}
	}
	for _, in := range []string{"1970-01-01T00:00:00Z", "1970-01-01T01:00:00+01:00", "9999-12-31T23:59:59.999999999Z", "9999-12-31T00:00:00-23:59"} {
		e, err := Decode([]byte(`{"user_id":"u","event_type":"page_view","timestamp":"` + in + `"}`))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if _, err := e.Timestamp.MarshalJSON(); err != nil {
			t.Errorf("%s: accepted but cannot be written back: %v", in, err)
		}
	}
	// Validate holds the bound for events built in Go too; a zero time is
	// an absent one there, for Normalize to fill.
	for _, ts := range []time.Time{MinTimestamp.Add(-time.Nanosecond), MaxTimestamp.Add(time.Nanosecond)} {
		e := Event{UserID: "u", EventType: "page_view", Timestamp: ts}
		if err := e.Validate(); err == nil || !strings.Contains(err.Error(), bounds) {
			t.Errorf("Validate(%v) = %v", ts, err)
		}
	}
	if err := (&Event{UserID: "u", EventType: "page_view"}).Validate(); err != nil {
		t.Errorf("absent timestamp: %v", err)
	}
}

// TestInvisibleCharacters: bidirectional controls, zero-width characters
// and line separators were accepted in ids, where two ids that look alike
// differ and one can display as another. Ids refuse all of Unicode's
// format characters (Cf) and U+2028/U+2029, naming the field and the code
// point; page refuses only line breaks; message keeps them all. C1
// controls are refused everywhere, like the C0 ones.
func TestInvisibleCharacters(t *testing.T) {
	ids := []string{"event_id", "user_id", "element_id", "session_id"}
	for _, r := range []rune{0x202E, 0x202A, 0x200B, 0x200E, 0x2066, 0x2069, 0xFEFF, 0x00AD, 0x061C, 0xE0041, 0x2028, 0x2029} {
		for _, field := range ids {
			e := Event{UserID: "u", EventType: "page_view"}
			set := map[string]*string{"event_id": &e.EventID, "user_id": &e.UserID, "element_id": &e.ElementID, "session_id": &e.SessionID}
			*set[field] = "ab" + string(r) + "c"
			err := e.Validate()
			var ve *Error
			if !errors.As(err, &ve) || ve.Field != field || !strings.Contains(ve.Reason, fmt.Sprintf("%U", r)) {
				t.Errorf("%s with %U: err = %v", field, r, err)
			}
		}
	}
	// Through Decode too, as the escaped JSON a client sends.
	_, err := Decode([]byte(`{"user_id":"admin\u202egnp.exe","event_type":"page_view"}`))
	if err == nil || err.Error() != "user_id: contains invisible format character U+202E (Unicode category Cf), not allowed in an id" {
		t.Errorf("Decode: %v", err)
	}
	for _, r := range []rune{0x2028, 0x2029} {
		if err := (&Event{UserID: "u", EventType: "page_view", Page: "/a" + string(r)}).Validate(); err == nil || !strings.Contains(err.Error(), "page: contains line or paragraph separator") {
			t.Errorf("page with %U: %v", r, err)
		}
	}
	for _, r := range []rune{0x0080, 0x0085, 0x009F} {
		for _, e := range []Event{{UserID: "u" + string(r)}, {UserID: "u", Page: string(r)}, {UserID: "u", Message: string(r)}} {
			e.EventType = "page_view"
			if err := e.Validate(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("contains control character %U", r)) {
				t.Errorf("C1 control %U in %+v: %v", r, e, err)
			}
		}
	}
	// Text in any script keeps what writing it needs.
	for _, e := range []Event{
		{Page: "می\u200cخواهم", Message: "שלום \u200f(1)\u2028next \u202eline\u202c"},
		{ElementID: "日本語-ünï-🎉", SessionID: "s-é"},
	} {
		e.UserID, e.EventType = "u", "page_view"
		if err := e.Validate(); err != nil {
			t.Errorf("%+v: %v", e, err)
		}
	}
}

// TestHugeNumbersInProperties: a number beyond the range of a float64 in
// properties was accepted, and readers disagree on what it is (a browser
// reads Infinity, Python inf, PostgreSQL's jsonb 401 digits). It is
// refused, naming properties and where in them; numbers in range keep
// their exact text.
func TestHugeNumbersInProperties(t *testing.T) {
	for in, want := range map[string]string{
		`{"n":1e400}`:                               "properties: /n is 1e400, beyond the range of a 64-bit float",
		`{"a":[1,{"b":-1.8E+308}]}`:                 "properties: /a/1/b is -1.8E+308, beyond",
		`{"s":"1e400","t":true,"x":2e999}`:          "properties: /x is 2e999",
		`{"big":1` + strings.Repeat("0", 400) + `}`: "properties: /big is 100000000000000000000..., beyond",
	} {
		_, err := Decode([]byte(`{"user_id":"u","event_type":"page_view","properties":` + in + `}`))
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%.60s: err = %v, want %q", in, err, want)
		}
	}
	for _, in := range []string{
		`{"max":1.7976931348623157e308,"tiny":1e-400,"long":3.14159265358979323846264338327950288,"e":"1e400","t":true,"f":false,"z":-0}`,
		`{"n":1` + strings.Repeat("0", 300) + `}`,
	} {
		e, err := Decode([]byte(`{"user_id":"u","event_type":"page_view","properties":` + in + `}`))
		if err != nil || string(e.Properties) != in {
			t.Errorf("%.60s: %v, properties %.60s", in, err, e.Properties)
		}
	}
}
