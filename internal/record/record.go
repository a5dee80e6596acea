// Package record is the wire format of Pulse's Kafka records: the headers
// an event record carries besides the event (who sent it, whether it is a
// replay) and the dead letters the pipeline writes to the DLQ topic. Every
// header is named, written and read here, so that what one part of Pulse
// writes is what another reads; the names and values are those Pulse has
// always used, so existing topics stay readable.
package record

import (
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
)

// Headers of an event record.
const (
	// HeaderSource names who sent the event (an event.Source); a record
	// without it, or with an unknown one, came straight from a Kafka
	// client.
	HeaderSource = "source"
	// HeaderRequestID is the id of the HTTP request that sent the event.
	HeaderRequestID = "request_id"
	// HeaderTimestampFilled, set to "1", marks a record whose event came
	// without a timestamp and was given the time it was produced: a
	// client's retry of the event gets another time, and is still the
	// same event.
	HeaderTimestampFilled = "timestamp_filled"
	// HeaderReplayOf marks a record replayed from the DLQ with the dead
	// letter it came from, "<dlq topic>/<partition>/<offset>".
	HeaderReplayOf = "replay_of"
	// HeaderReplayedAt is when the replay was sent, RFC 3339.
	HeaderReplayedAt = "replayed_at"
	// HeaderReplayEventID carries, on a replayed record whose payload has
	// no event_id, the id its original was stored under (a derived one,
	// which no payload may carry), so that the replay replaces the
	// dead-lettered row instead of adding an event.
	HeaderReplayEventID = "replay_event_id"
	// HeaderClientDropped carries, on the first event of a collected
	// batch, the count of events its client discarded (ledger.Delivery).
	HeaderClientDropped = "client_dropped"
	// HeaderSkewCorrected, set to "1", marks a collected event whose
	// time the collector moved because the client's clock was off.
	HeaderSkewCorrected = "skew_corrected"
)

// maxReplayOfLen bounds the replay_of header kept: a topic name (at most
// 249 bytes) and two numbers.
const maxReplayOfLen = 300

// maxClientDropped bounds a client_dropped header: more than a client's
// queue can ever have discarded between two deliveries.
const maxClientDropped = 1 << 32

// Meta is what an event record's headers say besides the event, as far as
// the values are sane (see ParseMeta).
type Meta struct {
	// Source is empty when the header is absent or names no known source.
	Source          event.Source
	RequestID       string
	TimestampFilled bool
	ReplayOf        string
	// ReplayEventID is set only on a replay (ReplayOf header present)
	// and only to a derived id.
	ReplayEventID string
	// Delivery is what the collector counted for the delivery ledger.
	Delivery ledger.Delivery
}

// EventHeaders returns the headers of a record Pulse produces for an
// event: the source always, the request id when there is one, and the
// timestamp_filled mark when the producer gave the event its timestamp.
func EventHeaders(src event.Source, requestID string, timestampFilled bool) []kgo.RecordHeader {
	hs := make([]kgo.RecordHeader, 1, 3)
	hs[0] = kgo.RecordHeader{Key: HeaderSource, Value: []byte(src)}
	if requestID != "" {
		hs = append(hs, kgo.RecordHeader{Key: HeaderRequestID, Value: []byte(requestID)})
	}
	if timestampFilled {
		hs = append(hs, kgo.RecordHeader{Key: HeaderTimestampFilled, Value: []byte("1")})
	}
	return hs
}

// DeliveryHeaders returns the headers that carry d; none for a zero d.
func DeliveryHeaders(d ledger.Delivery) []kgo.RecordHeader {
	var hs []kgo.RecordHeader
	if d.ClientDropped > 0 {
		hs = append(hs, kgo.RecordHeader{Key: HeaderClientDropped, Value: strconv.AppendInt(nil, d.ClientDropped, 10)})
	}
	if d.SkewCorrected {
		hs = append(hs, kgo.RecordHeader{Key: HeaderSkewCorrected, Value: []byte("1")})
	}
	return hs
}

// ReplayHeaders returns the headers of the record replaying dead letter
// dl, read from topic dlqTopic: dl's own headers but the dead letter's and
// those of an earlier replay, then replay_of, replayed_at and, when
// derivedID is not empty, replay_event_id.
func ReplayHeaders(dl *kgo.Record, dlqTopic string, now time.Time, derivedID string) []kgo.RecordHeader {
	var hs []kgo.RecordHeader
	for _, h := range dl.Headers {
		if isDeadLetterHeader(h.Key) || h.Key == HeaderReplayOf || h.Key == HeaderReplayedAt || h.Key == HeaderReplayEventID {
			continue
		}
		hs = append(hs, h)
	}
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderReplayOf, Value: fmt.Appendf(nil, "%s/%d/%d", dlqTopic, dl.Partition, dl.Offset)},
		kgo.RecordHeader{Key: HeaderReplayedAt, Value: []byte(now.UTC().Format(time.RFC3339Nano))},
	)
	if derivedID != "" {
		hs = append(hs, kgo.RecordHeader{Key: HeaderReplayEventID, Value: []byte(derivedID)})
	}
	return hs
}

// ParseMeta reads an event record's headers. Any Kafka client may set
// them, so request_id and replay_of are kept only when they can be stored
// and logged as they are (the last such one wins), an unknown source is
// left out, and a replay_event_id counts only on a replay and only when
// it is a derived id in its canonical form.
func ParseMeta(hs []kgo.RecordHeader) Meta {
	var m Meta
	var replay bool
	var replayID string
	for _, h := range hs {
		switch h.Key {
		case HeaderSource:
			if s := event.Source(h.Value); s.Valid() {
				m.Source = s
			}
		case HeaderRequestID:
			if sane(h.Value, event.MaxIDLen) {
				m.RequestID = string(h.Value)
			}
		case HeaderReplayOf:
			replay = true
			if sane(h.Value, maxReplayOfLen) {
				m.ReplayOf = string(h.Value)
			}
		case HeaderReplayEventID:
			replayID = string(h.Value)
		case HeaderTimestampFilled:
			m.TimestampFilled = string(h.Value) == "1"
		case HeaderClientDropped:
			// A count a client reported; a bound keeps one forged header
			// from making the ledger's sums overflow.
			if n, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil && n > 0 && n <= maxClientDropped {
				m.Delivery.ClientDropped = n
			}
		case HeaderSkewCorrected:
			m.Delivery.SkewCorrected = string(h.Value) == "1"
		}
	}
	if replay && len(replayID) == 36 && event.IsDerived(replayID) {
		m.ReplayEventID = replayID
	}
	return m
}

// sane reports whether a header value any Kafka client may have set can
// be copied into the store and the logs: at most max bytes of valid UTF-8
// without control characters (C0, DEL, C1) or invisible format characters
// (bidi overrides, zero-width joiners...), which could forge log lines or
// disguise the text shown. An insane value is dropped, the record kept.
func sane(v []byte, max int) bool {
	if len(v) > max || !utf8.Valid(v) {
		return false
	}
	for _, r := range string(v) {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
