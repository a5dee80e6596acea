package privacy

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/pulse-dev/pulse/internal/event"
)

// MaskedPrefix starts every pseudonym, so a reader (and a test) tells a
// masked value from a real one.
const MaskedPrefix = "masked-"

// Masker replaces the values of the personal fields with pseudonyms: a
// keyed hash of the value, the same for the same value wherever it
// appears, so a masked feed still shows that two actions were one user's,
// but neither the value nor a guess at it (a low-entropy id tried against
// the hash) can be recovered without the key, which only the server holds.
type Masker struct {
	key    []byte
	fields atomic.Pointer[Set]
}

// NewMasker returns a Masker keyed by key, masking fields.
func NewMasker(key []byte, fields *Set) *Masker {
	m := &Masker{key: key}
	m.fields.Store(fields)
	return m
}

// SetFields changes what is masked from the next call on.
func (m *Masker) SetFields(s *Set) { m.fields.Store(s) }

// Fields returns what is masked.
func (m *Masker) Fields() *Set { return m.fields.Load() }

// Value returns the pseudonym of v. The empty value stays empty: there is
// nothing to hide in its absence.
func (m *Masker) Value(v string) string {
	if v == "" {
		return ""
	}
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(v))
	return MaskedPrefix + hex.EncodeToString(h.Sum(nil)[:6])
}

// Event returns e with its personal fields masked; e is not changed.
func (m *Masker) Event(e event.Event) event.Event {
	s := m.fields.Load()
	if s.userID {
		e.UserID = m.Value(e.UserID)
	}
	if s.sessionID {
		e.SessionID = m.Value(e.SessionID)
	}
	if s.anonymousID {
		e.AnonymousID = m.Value(e.AnonymousID)
	}
	if len(s.props) > 0 && len(e.Properties) > 0 {
		e.Properties = m.properties(s, e.Properties)
	}
	return e
}

// Stored masks a stored event.
func (m *Masker) Stored(e event.Stored) event.Stored {
	e.Event = m.Event(e.Event)
	return e
}

// Events masks events in place.
func (m *Masker) Events(events []event.Stored) {
	for i := range events {
		events[i] = m.Stored(events[i])
	}
}

// Message masks a processing-log row: its user_id is the event's.
func (m *Masker) Message(msg event.Message) event.Message {
	if m.fields.Load().userID {
		msg.UserID = m.Value(msg.UserID)
	}
	return msg
}

// Messages masks messages in place.
func (m *Masker) Messages(msgs []event.Message) {
	for i := range msgs {
		msgs[i] = m.Message(msgs[i])
	}
}

// properties masks the declared paths of a properties object. An object
// that does not parse is replaced whole: its text may hold a declared
// value that no path can find.
func (m *Masker) properties(s *Set, raw json.RawMessage) json.RawMessage {
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil || obj == nil {
		return json.RawMessage(`{"masked":true}`)
	}
	changed := false
	for _, path := range s.props {
		changed = m.maskPath(obj, path) || changed
	}
	if !changed {
		return raw
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return json.RawMessage(`{"masked":true}`)
	}
	return out
}

// maskPath replaces the value at path in obj (and whatever is under it)
// with its pseudonym. It reports whether it found one.
//
// Keys match regardless of case: a payload that spells a field
// "User_ID" was refused for it, but the value is still the person's.
func (m *Masker) maskPath(obj map[string]any, path []string) bool {
	found := false
	for k, v := range obj {
		if !strings.EqualFold(k, path[0]) {
			continue
		}
		if len(path) > 1 {
			if inner, ok := v.(map[string]any); ok {
				found = m.maskPath(inner, path[1:]) || found
			}
			continue
		}
		obj[k] = m.Value(jsonText(v))
		found = true
	}
	return found
}

// jsonText is the text a value is masked by: a string's own characters,
// any other value's JSON, so "42" and 42 mask alike only when equal.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// Payload masks a raw record payload (a DLQ record's value) for display:
// a JSON object has its personal fields masked like an event's; anything
// else, which no field path can be found in, is withheld whole, and the
// second result says so.
func (m *Masker) Payload(raw []byte) (out []byte, withheld bool) {
	if !utf8.Valid(raw) {
		// encoding/json would turn the bytes into other text, which no
		// key could be relied on to name.
		return nil, true
	}
	var obj map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil || obj == nil || d.More() {
		return nil, true
	}
	s := m.fields.Load()
	changed := false
	for field, on := range map[string]bool{FieldUserID: s.userID, FieldSessionID: s.sessionID, FieldAnonymousID: s.anonymousID} {
		if on {
			changed = m.maskPath(obj, []string{field}) || changed
		}
	}
	for k, v := range obj {
		if !strings.EqualFold(k, "properties") || len(s.props) == 0 {
			continue
		}
		props, ok := v.(map[string]any)
		if !ok {
			obj[k] = map[string]any{"masked": true}
			changed = true
			continue
		}
		for _, path := range s.props {
			changed = m.maskPath(props, path) || changed
		}
	}
	if !changed {
		return raw, false
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, true
	}
	return b, false
}

// IsMasked reports whether v is a pseudonym.
func IsMasked(v string) bool { return strings.HasPrefix(v, MaskedPrefix) }

// RecordKey masks a Kafka record key of the events topic,
// "<user_id>:<event_type>" (event.Event.Key): an event type holds no
// colon, so the user_id is everything before the last one.
func (m *Masker) RecordKey(key string) string {
	if !m.fields.Load().userID || key == "" {
		return key
	}
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return m.Value(key)
	}
	return m.Value(key[:i]) + key[i:]
}
