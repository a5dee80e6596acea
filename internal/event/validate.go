package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// Limits on an event. Each violation is an *Error naming the field.
const (
	MaxRecordBytes     = 64 << 10 // a whole encoded event
	MaxIDLen           = 128      // event_id, user_id, element_id, session_id
	MaxTypeLen         = 64
	MaxPageLen         = 512
	MaxMessageLen      = 4096
	MaxPropertiesBytes = 16 << 10
	MaxPropertiesDepth = 8
	MaxDelaySeconds    = 30
	// MaxSeq bounds a stream's sequence number: the largest integer a
	// JavaScript number holds exactly.
	MaxSeq = 1<<53 - 1
)

// The bounds of an event's timestamp, inclusive, once converted to UTC.
// The lower one keeps out the zero time and the epoch-less values a broken
// clock or a default (Python's datetime.min) produces, none of which a
// tracked user action can carry; the upper one is the last instant that
// RFC 3339, and so every JSON answer and export, can write. Both stores
// hold every time in between (SQLite as microseconds since 1970 in 64
// bits, PostgreSQL's timestamptz up to the year 294276).
var (
	MinTimestamp = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTimestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// TypePattern is the format of an event type: the seed's types and any
// custom one in lower snake case.
var TypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Error is a validation failure of one field. Its text is safe to show to
// the client that sent the event.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// IsInvalid reports whether err is a validation failure.
func IsInvalid(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// wire is the JSON form accepted on input: strings are checked by hand so
// that timestamps in several common layouts parse and every error names its
// field. It is decoded with encoding/json/v2's semantics (the
// go-json-experiment module, which Go 1.27 makes the standard library's):
// 2.5 times faster than v1 with a third of the allocations, for what the
// pipeline does to every record, and strict where v1 is lax: member
// names match exactly and a repeated one is refused rather than the last
// one silently winning.
type wire struct {
	EventID      string         `json:"event_id"`
	UserID       *string        `json:"user_id"`
	EventType    *string        `json:"event_type"`
	ElementID    string         `json:"element_id"`
	Timestamp    string         `json:"timestamp"`
	SessionID    string         `json:"session_id"`
	Page         string         `json:"page"`
	Message      string         `json:"message"`
	Properties   jsontext.Value `json:"properties"`
	DelaySeconds *float64       `json:"delay_seconds"`
	ShouldFail   *bool          `json:"should_fail"`
	SourceID     string         `json:"source_id"`
	AnonymousID  string         `json:"anonymous_id"`
	StreamID     string         `json:"stream_id"`
	Seq          *float64       `json:"seq"`
}

// Decode parses and validates one event from JSON. It does not fill in
// event_id or timestamp when absent; callers decide (see Normalize).
func Decode(data []byte) (Event, error) {
	if len(data) > MaxRecordBytes {
		return Event{}, invalid("", "event is %d bytes, over the limit of %d", len(data), MaxRecordBytes)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Event{}, invalid("", "invalid JSON: expected an object")
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD and store an
	// altered value; refuse it instead, naming the field.
	if !utf8.Valid(data) {
		return Event{}, invalid(invalidUTF8Field(data), "is not valid UTF-8")
	}
	var w wire
	if err := jsonv2.Unmarshal(data, &w); err != nil {
		return Event{}, decodeError(err)
	}
	e := Event{
		EventID:     w.EventID,
		ElementID:   w.ElementID,
		SessionID:   w.SessionID,
		Page:        w.Page,
		Message:     w.Message,
		Properties:  json.RawMessage(w.Properties),
		SourceID:    w.SourceID,
		AnonymousID: w.AnonymousID,
		StreamID:    w.StreamID,
	}
	if w.Seq != nil {
		// A float so that 1.5 or 1e300 is refused with the field's name
		// rather than as a JSON type error.
		if *w.Seq != float64(int64(*w.Seq)) || *w.Seq < 1 || *w.Seq > MaxSeq {
			return Event{}, invalid("seq", "must be a whole number between 1 and %d", int64(MaxSeq))
		}
		e.Seq = int64(*w.Seq)
	}
	if w.UserID != nil {
		e.UserID = *w.UserID
	}
	if e.UserID == "" {
		// Until a tracker identifies its user, the user is the browser.
		e.UserID = e.AnonymousID
	}
	if w.EventType != nil {
		e.EventType = *w.EventType
	}
	if w.DelaySeconds != nil {
		e.DelaySeconds = *w.DelaySeconds
	}
	if w.ShouldFail != nil {
		e.ShouldFail = *w.ShouldFail
	}
	if w.Timestamp != "" {
		ts, err := ParseTime(w.Timestamp)
		if err != nil {
			return Event{}, invalid("timestamp", "must be an RFC 3339 time such as 2024-01-15T10:30:00Z")
		}
		// A timestamp that is present is checked here even when it is the
		// zero time, which Validate takes for an absent one.
		if err := CheckTimestamp(ts); err != nil {
			return Event{}, err
		}
		e.Timestamp = ts
	}
	if bytes.Equal(bytes.TrimSpace(e.Properties), []byte("null")) {
		e.Properties = nil
	}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// invalidUTF8Field names the top-level field whose value holds invalid
// UTF-8, or "" when it is a key or the structure itself.
func invalidUTF8Field(data []byte) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return ""
	}
	for name, raw := range fields {
		if !utf8.Valid(raw) {
			return name
		}
	}
	return ""
}

// decodeError turns a decoding failure into an *Error naming the
// top-level field it is about, when there is one.
func decodeError(err error) *Error {
	var se *jsonv2.SemanticError
	if errors.As(err, &se) && se.GoType != nil {
		if field := topField(se.JSONPointer); field != "" {
			want := goKind(se.GoType)
			if got := jsonKind(se.JSONKind); got != "" && "a "+got != want {
				return invalid(field, "must be %s, not %s", want, got)
			}
			return invalid(field, "must be %s that fits", want)
		}
	}
	var xe *jsontext.SyntacticError
	if errors.As(err, &xe) {
		if field := topField(xe.JSONPointer); errors.Is(xe.Err, jsontext.ErrDuplicateName) && field != "" {
			if inner := strings.TrimPrefix(string(xe.JSONPointer), "/"+field); inner != "" {
				return invalid(field, "member %s appears more than once", inner)
			}
			return invalid(field, "appears more than once")
		}
		return invalid("", "invalid JSON at byte %d: %v", xe.ByteOffset, xe.Err)
	}
	return invalid("", "invalid JSON: %v", err)
}

// topField is the first member name of a JSON pointer: the event field
// an error is in, however deep.
func topField(p jsontext.Pointer) string {
	for name := range p.Tokens() {
		return name
	}
	return ""
}

// goKind names what a field of wire holds.
func goKind(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	}
	return "a " + t.Kind().String()
}

// jsonKind names a JSON value's kind as the error messages put it.
func jsonKind(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return ""
}

// Validate checks every field against its limit and format. A zero
// Timestamp counts as absent (Normalize fills it in); any other must lie
// between MinTimestamp and MaxTimestamp.
func (e *Event) Validate() error {
	if e.UserID == "" {
		return invalid("user_id", "is required")
	}
	if e.EventType == "" {
		return invalid("event_type", "is required")
	}
	if !validType(e.EventType) {
		return invalid("event_type", "must match %s (lower case letters, digits, underscores)", TypePattern)
	}
	for _, f := range []struct {
		name, value string
		max         int
		kind        textKind
	}{
		{"event_id", e.EventID, MaxIDLen, idText},
		{"user_id", e.UserID, MaxIDLen, idText},
		{"element_id", e.ElementID, MaxIDLen, idText},
		{"session_id", e.SessionID, MaxIDLen, idText},
		{"source_id", e.SourceID, MaxIDLen, idText},
		{"anonymous_id", e.AnonymousID, MaxIDLen, idText},
		{"stream_id", e.StreamID, MaxIDLen, idText},
		{"page", e.Page, MaxPageLen, lineText},
		{"message", e.Message, MaxMessageLen, freeText},
	} {
		if err := checkString(f.name, f.value, f.max, f.kind); err != nil {
			return err
		}
	}
	if !e.Timestamp.IsZero() {
		if err := CheckTimestamp(e.Timestamp); err != nil {
			return err
		}
	}
	if err := checkClaim(e.EventID); err != nil {
		return err
	}
	switch {
	case e.Seq < 0 || e.Seq > MaxSeq:
		return invalid("seq", "must be a whole number between 1 and %d", int64(MaxSeq))
	case e.Seq > 0 && e.StreamID == "":
		return invalid("stream_id", "is required with seq")
	case e.Seq == 0 && e.StreamID != "":
		return invalid("seq", "is required with stream_id")
	}
	if e.DelaySeconds < 0 || e.DelaySeconds > MaxDelaySeconds || e.DelaySeconds != e.DelaySeconds {
		return invalid("delay_seconds", "must be between 0 and %d", MaxDelaySeconds)
	}
	if len(e.Properties) > 0 {
		if len(e.Properties) > MaxPropertiesBytes {
			return invalid("properties", "is %d bytes, over the limit of %d", len(e.Properties), MaxPropertiesBytes)
		}
		p := bytes.TrimSpace(e.Properties)
		if len(p) == 0 || p[0] != '{' {
			return invalid("properties", "must be a JSON object")
		}
		d, huge := scanJSON(p)
		if d > MaxPropertiesDepth {
			return invalid("properties", "nests %d levels deep, over the limit of %d", d, MaxPropertiesDepth)
		}
		if !json.Valid(p) {
			return invalid("properties", "is not valid JSON")
		}
		if huge {
			return hugeNumber(p)
		}
	}
	return nil
}

// CheckTimestamp refuses a time outside MinTimestamp..MaxTimestamp, saying
// the bounds: an *Error on the field timestamp. A time filled in from
// elsewhere (a Kafka record's own timestamp) passes the same check.
func CheckTimestamp(t time.Time) error {
	if t.Before(MinTimestamp) || t.After(MaxTimestamp) {
		return invalid("timestamp", "is %s in UTC, outside the accepted range %s to %s",
			t.UTC().Format(time.RFC3339Nano), MinTimestamp.Format(time.RFC3339Nano), MaxTimestamp.Format(time.RFC3339Nano))
	}
	return nil
}

// validType is TypePattern.MatchString without the regexp machinery,
// which cost a fifth of Validate.
func validType(s string) bool {
	if len(s) == 0 || len(s) > MaxTypeLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// textKind says which characters a string field may hold beyond the
// printable ones.
type textKind int

const (
	// idText is an identifier: shown, compared and grouped by, so nothing
	// in it may be invisible or reorder what is shown. Unicode's format
	// characters (category Cf: bidirectional controls such as U+202E and
	// U+2066, zero-width ones such as U+200B, U+FEFF) and the line and
	// paragraph separators U+2028 and U+2029 are refused: two ids that
	// look the same would differ, or one would show as another.
	idText textKind = iota
	// lineText is one line of text in any script (page): format
	// characters are part of writing some languages (U+200C in Persian,
	// U+200F in Hebrew and Arabic titles), so only line breaks are
	// refused.
	lineText
	// freeText is free text (message): tabs and line breaks are allowed,
	// U+2028 and U+2029 too; format characters are kept as sent.
	freeText
)

func checkString(field, s string, max int, kind textKind) error {
	if len(s) > max {
		return invalid(field, "is %d bytes, over the limit of %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			if kind == freeText && (r == '\n' || r == '\t' || r == '\r') {
				continue
			}
			return invalid(field, "contains control character %U", r)
		case r < 0x80:
		case r <= 0x9f:
			// The C1 controls, U+0080 to U+009F.
			return invalid(field, "contains control character %U", r)
		case r == 0x2028 || r == 0x2029:
			if kind != freeText {
				return invalid(field, "contains line or paragraph separator %U", r)
			}
		case kind == idText && unicode.Is(unicode.Cf, r):
			return invalid(field, "contains invisible format character %U (Unicode category Cf), not allowed in an id", r)
		}
	}
	return nil
}

// scanJSON returns the deepest nesting of objects and arrays in data,
// ignoring brackets inside strings, and whether a number in it is beyond
// the range of a float64 (see hugeNumber).
func scanJSON(data []byte) (maxDepth int, huge bool) {
	depth, max := 0, 0
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				max = depth
			}
		case c == '}' || c == ']':
			depth--
		case c == '-' || c >= '0' && c <= '9':
			// Outside strings only numbers hold these; a number can
			// overflow only with an exponent or over 308 digits.
			j := i + 1
			exp := false
			for ; j < len(data) && isNumberByte(data[j]); j++ {
				exp = exp || data[j] == 'e' || data[j] == 'E'
			}
			if (exp || j-i > 308) && overflows(data[i:j]) {
				huge = true
			}
			i = j - 1
		}
	}
	return max, huge
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// overflows reports whether the JSON number n is beyond ±MaxFloat64;
// ParseFloat rounds one too small to zero without an error.
func overflows(n []byte) bool {
	_, err := strconv.ParseFloat(string(n), 64)
	return errors.Is(err, strconv.ErrRange)
}

// hugeNumber names the first number in the valid JSON object p that is
// beyond the range of a float64. Pulse stores properties verbatim, but
// most readers do not: a browser, Python or PostgreSQL's jsonb turn 1e400
// into Infinity, null, an error or 401 digits, so the event would mean
// different things to different readers. Such a number is refused, where
// the usual loss of precision of a long decimal is not.
func hugeNumber(p []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(p))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return invalid("properties", "holds a number beyond the range of a 64-bit float (±1.8e308)")
		}
		if tok.Kind() != '0' {
			continue
		}
		n := []byte(tok.String())
		if !overflows(n) {
			continue
		}
		if len(n) > 24 {
			n = append(n[:21:21], "..."...)
		}
		return invalid("properties", "%s is %s, beyond the range of a 64-bit float (±1.8e308)", dec.StackPointer(), n)
	}
}

// timeLayouts are accepted for timestamp: RFC 3339, and the zone-less ISO
// 8601 that Python's datetime.isoformat() writes (taken as UTC).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// ParseTime parses a timestamp in one of the accepted layouts.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parse time %q", s)
}

// Normalize fills what an accepted event may omit: a new event_id and the
// given time as timestamp. Only an absent timestamp is filled: Decode
// refuses one that is present and zero. It reports whether it filled the
// timestamp: the time is then the server's, not the client's, and a
// retry of the same event gets another (see store.Record.TimeFilled).
func (e *Event) Normalize(now time.Time) (timeFilled bool) {
	if e.EventID == "" {
		e.EventID = NewID()
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now.UTC()
		return true
	}
	return false
}

// NewID returns a new event_id: a version 7 UUID, whose time-ordered
// prefix makes consecutive ids land next to each other in the store's
// unique index instead of on random pages (random ids cost most of a
// batch's commit, and more as the table grows).
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does.
		return uuid.NewString()
	}
	return id.String()
}
