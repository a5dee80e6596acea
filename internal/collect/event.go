package collect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
)

// record checks one event of a batch and builds its record: the source
// set from the key, the client's address added when the source keeps it,
// the time corrected by skew (or now when absent), the skew correction
// noted for the ledger. It returns the event as the client sent it, with
// its source and time.
func (c *Collector) record(src store.Source, raw []byte, now time.Time, skew time.Duration, requestID, clientIP string) (*kgo.Record, event.Event, error) {
	e, err := event.Decode(raw)
	if err != nil {
		return nil, e, err
	}
	switch {
	case e.SourceID != "":
		return nil, e, &event.Error{Field: "source_id", Reason: "is set from the write key, not by the client"}
	case e.DelaySeconds != 0:
		return nil, e, &event.Error{Field: "delay_seconds", Reason: "is a simulation field, not accepted by /api/collect"}
	case e.ShouldFail:
		return nil, e, &event.Error{Field: "should_fail", Reason: "is a simulation field, not accepted by /api/collect"}
	}
	e.SourceID = src.ID
	// The property is the collector's: a client's own would pass for an
	// address Pulse saw, or be stored where the source keeps none.
	if hasMember(e.Properties, store.ClientIPProperty) {
		return nil, e, &event.Error{Field: "properties." + store.ClientIPProperty,
			Reason: "is set by the collector from the client's address (the source's store_ip setting), not by the client"}
	}
	if e.EventID == "" {
		// A client that sends no id gets one, but its retries are then
		// other events: pulse.js always sends one.
		e.EventID = event.NewID()
	}
	var dl ledger.Delivery
	// An absent time is left to the producer, which fills it with the
	// time it sends.
	if !e.Timestamp.IsZero() && skew != 0 {
		t := e.Timestamp.Add(skew)
		if err := event.CheckTimestamp(t); err != nil {
			return nil, e, err
		}
		e.Timestamp, dl.SkewCorrected = t, true
	}
	// The tracking plan judges what the client sent (the returned e); the
	// address goes to Kafka only.
	sent := e
	if src.Settings.StoreIP && clientIP != "" {
		sent.Properties = withMember(e.Properties, store.ClientIPProperty, clientIP)
		if len(sent.Properties) > event.MaxPropertiesBytes {
			return nil, e, &event.Error{Field: "properties", Reason: fmt.Sprintf(
				"leaves no room for the client's address the source keeps (%d bytes at most, with it)", event.MaxPropertiesBytes)}
		}
	}
	rec, err := c.producer.Record(&sent, event.SourceCollect, requestID)
	if err != nil {
		return nil, e, err
	}
	rec.Headers = append(rec.Headers, record.DeliveryHeaders(dl)...)
	return rec, e, nil
}

// hasMember reports whether the JSON object props (valid: event.Decode
// checked it) has a member name at its top level.
func hasMember(props []byte, name string) bool {
	if len(props) == 0 {
		return false
	}
	dec := jsontext.NewDecoder(bytes.NewReader(props), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return false
		}
		if tok.String() == name {
			return true
		}
		if err := dec.SkipValue(); err != nil {
			return false
		}
	}
	return false
}

// withMember returns the JSON object props (or a new one when there is
// none) with the string member name: value first, the rest verbatim.
func withMember(props []byte, name, value string) json.RawMessage {
	n, _ := json.Marshal(name)
	v, _ := json.Marshal(value)
	member := append(append(n, ':'), v...)
	p := bytes.TrimSpace(props)
	if len(p) == 0 {
		return json.RawMessage(append(append([]byte{'{'}, member...), '}'))
	}
	out := append([]byte{'{'}, member...)
	if rest := bytes.TrimSpace(p[1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return json.RawMessage(append(out, p[1:]...))
}
