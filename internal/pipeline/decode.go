package pipeline

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// newRec decodes kr. A record that fails to decode is kept with the reason
// so that it is dead-lettered in its turn.
func (c *Consumer) newRec(ps *partState, kr *kgo.Record) *rec {
	r := &rec{part: ps, seq: ps.nextSeq, kr: kr}
	ps.nextSeq++
	r.msg = event.Message{
		Status:     event.StatusQueued,
		Source:     event.SourceKafka,
		ConsumerID: c.cfg.ConsumerID,
		Topic:      kr.Topic,
		Partition:  kr.Partition,
		Offset:     kr.Offset,
		QueuedAt:   kr.Timestamp.UTC(),
	}
	meta := record.ParseMeta(kr.Headers)
	if meta.Source != "" {
		r.msg.Source = meta.Source
	}
	r.msg.RequestID = meta.RequestID
	r.msg.ReplayOf = meta.ReplayOf
	// A collected event's time is the collector's correction of its
	// client's clock, measured anew on each retry: it is not content
	// either (its client-made UUIDv7 event_id names it).
	r.timeFilled = meta.TimestampFilled || meta.Source == event.SourceCollect
	r.delivery = meta.Delivery
	ev, err := event.Decode(kr.Value)
	if err != nil {
		r.invalid = err.Error()
		r.msg.EventID, r.msg.IDDerived = recordID(kr), true
		r.msg.UserID, r.msg.EventType, r.msg.ElementID = partialFields(kr.Value)
		if len(kr.Key) > 0 {
			r.key = string(kr.Key)
		}
		return r
	}
	if ev.EventID == "" {
		ev.EventID = meta.ReplayEventID
		if ev.EventID == "" {
			ev.EventID, r.msg.IDDerived = recordID(kr), true
		}
	}
	if ev.Timestamp.IsZero() {
		// The record's own time stands in for the event's, under the
		// same bounds: a producer may set any (franz-go also wraps one
		// past the year 2262 into the past, which the bounds mostly
		// catch).
		if err := event.CheckTimestamp(kr.Timestamp); err != nil {
			r.invalid = "timestamp: absent from the event, and the Kafka record's own " + strings.TrimPrefix(err.Error(), "timestamp: ")
			r.msg.EventID = ev.EventID
			r.msg.UserID, r.msg.EventType, r.msg.ElementID = ev.UserID, ev.EventType, ev.ElementID
			if len(kr.Key) > 0 {
				r.key = string(kr.Key)
			} else {
				r.key = string(ev.Key())
			}
			return r
		}
		// A time the event did not carry is not part of its content: two
		// copies of it produced a moment apart are one event.
		ev.Timestamp, r.timeFilled = kr.Timestamp.UTC(), true
	}
	r.ev = ev
	r.msg.EventID = ev.EventID
	r.msg.UserID = ev.UserID
	r.msg.EventType = ev.EventType
	r.msg.ElementID = ev.ElementID
	if len(kr.Key) > 0 {
		r.key = string(kr.Key)
	} else {
		r.key = string(ev.Key())
	}
	return r
}

// recordID derives the event_id of kr, which carries none.
func recordID(kr *kgo.Record) string {
	ref := event.RecordRef{
		Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset,
		Timestamp: kr.Timestamp, Key: kr.Key, Value: kr.Value,
	}
	if len(kr.Headers) > 0 {
		ref.Headers = make([]event.Header, len(kr.Headers))
		for i, h := range kr.Headers {
			ref.Headers[i] = event.Header{Key: h.Key, Value: h.Value}
		}
	}
	return event.RecordID(ref)
}

// partialFields picks user_id, event_type and element_id out of a record
// that failed validation, where they are sane strings, so the
// dead-lettered message says whose it was.
func partialFields(value []byte) (userID, eventType, elementID string) {
	if len(value) > event.MaxRecordBytes {
		return "", "", ""
	}
	var p struct {
		UserID    json.RawMessage `json:"user_id"`
		EventType json.RawMessage `json:"event_type"`
		ElementID json.RawMessage `json:"element_id"`
	}
	if json.Unmarshal(value, &p) != nil {
		return "", "", ""
	}
	str := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) != nil || len(s) > event.MaxIDLen || !utf8.ValidString(s) {
			return ""
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return ""
		}
		return s
	}
	return str(p.UserID), str(p.EventType), str(p.ElementID)
}
