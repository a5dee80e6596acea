package record

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
)

// Headers of a dead letter: the original record, with its own headers
// (but any dlq_ ones), and these. Every one starts with deadLetterPrefix.
const (
	HeaderDLQTopic      = "dlq_original_topic"
	HeaderDLQPartition  = "dlq_original_partition"
	HeaderDLQOffset     = "dlq_original_offset"
	HeaderDLQError      = "dlq_error"
	HeaderDLQAttempts   = "dlq_attempts"
	HeaderDLQConsumerID = "dlq_consumer_id"
	// HeaderDLQFailedAt is when the record was dead-lettered, RFC 3339.
	HeaderDLQFailedAt = "dlq_failed_at"
	// HeaderDLQEventID is the event_id the record's processing-log row
	// has: its own, or the one derived for it. Dead letters of an earlier
	// Pulse lack it.
	HeaderDLQEventID = "dlq_event_id"
	// HeaderDLQTruncated is set, to the original size in bytes, on a dead
	// letter whose value was too large for the DLQ topic: the value is cut
	// to its first event.MaxRecordBytes, or dropped when even that is too
	// large (see Shrink).
	HeaderDLQTruncated = "dlq_truncated_from"
	// HeaderDLQHeadersDropped is set, to how many there were, on a dead
	// letter that was still too large without its value: the original
	// record's own headers are left out (the dlq_ ones stay).
	HeaderDLQHeadersDropped = "dlq_headers_dropped"
	// HeaderDLQKeyDropped is set, to the key's size in bytes, on a dead
	// letter that was too large even then: the key is left out too.
	HeaderDLQKeyDropped = "dlq_key_dropped"
)

// deadLetterPrefix starts the name of every dead-letter header.
const deadLetterPrefix = "dlq_"

func isDeadLetterHeader(key string) bool { return strings.HasPrefix(key, deadLetterPrefix) }

// DeadLetter is what a record in the DLQ topic says about the original
// record it holds: where that came from, why and when it failed, and what
// was cut to make it fit the DLQ topic.
type DeadLetter struct {
	// Topic, Partition and Offset locate the original record; Partition
	// and Offset are -1 when a parsed dead letter does not say.
	Topic     string
	Partition int32
	Offset    int64
	// Error is why the record was dead-lettered.
	Error string
	// Attempts counts processing attempts: 1 for a record that did not
	// decode.
	Attempts   int
	ConsumerID string
	FailedAt   time.Time
	// EventID is the event_id of the original's processing-log row; empty
	// in dead letters of an earlier Pulse (see DerivedID).
	EventID string

	// Truncated is set when the DLQ topic refused the dead letter as too
	// large and its value was cut to its head or dropped (see Shrink);
	// TruncatedFrom is then the original value's size in bytes.
	Truncated     bool
	TruncatedFrom int
	// HeadersDropped is set when the original record's own headers were
	// left out as well; DroppedHeaders counts them.
	HeadersDropped bool
	DroppedHeaders int
	// KeyDropped is set when the key was left out as well;
	// DroppedKeyBytes is its size.
	KeyDropped      bool
	DroppedKeyBytes int
}

// Headers returns the headers of d's record in the DLQ topic: orig, the
// original record's own headers, without any dlq_ ones it had, then d's.
func (d *DeadLetter) Headers(orig []kgo.RecordHeader) []kgo.RecordHeader {
	hs := make([]kgo.RecordHeader, 0, len(orig)+8)
	for _, h := range orig {
		if !isDeadLetterHeader(h.Key) {
			hs = append(hs, h)
		}
	}
	return d.appendHeaders(hs)
}

// appendHeaders appends d's headers to hs, in the order Pulse has always
// written them.
func (d *DeadLetter) appendHeaders(hs []kgo.RecordHeader) []kgo.RecordHeader {
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(d.Topic)},
		kgo.RecordHeader{Key: HeaderDLQPartition, Value: strconv.AppendInt(nil, int64(d.Partition), 10)},
		kgo.RecordHeader{Key: HeaderDLQOffset, Value: strconv.AppendInt(nil, d.Offset, 10)},
		kgo.RecordHeader{Key: HeaderDLQError, Value: []byte(d.Error)},
		kgo.RecordHeader{Key: HeaderDLQAttempts, Value: strconv.AppendInt(nil, int64(d.Attempts), 10)},
		kgo.RecordHeader{Key: HeaderDLQConsumerID, Value: []byte(d.ConsumerID)},
		kgo.RecordHeader{Key: HeaderDLQFailedAt, Value: []byte(d.FailedAt.UTC().Format(time.RFC3339Nano))},
		kgo.RecordHeader{Key: HeaderDLQEventID, Value: []byte(d.EventID)},
	)
	if d.Truncated {
		hs = append(hs, intHeader(HeaderDLQTruncated, d.TruncatedFrom))
	}
	if d.HeadersDropped {
		hs = append(hs, intHeader(HeaderDLQHeadersDropped, d.DroppedHeaders))
	}
	if d.KeyDropped {
		hs = append(hs, intHeader(HeaderDLQKeyDropped, d.DroppedKeyBytes))
	}
	return hs
}

func intHeader(key string, n int) kgo.RecordHeader {
	return kgo.RecordHeader{Key: key, Value: strconv.AppendInt(nil, int64(n), 10)}
}

// Shrink cuts dead letter out, which the DLQ topic refused as too large,
// more at each level, so that a record of any shape reaches the DLQ rather
// than hold its partition forever: 1 keeps the value's head (its first
// event.MaxRecordBytes), 2 drops the value, 3 the original record's own
// headers, 4 its key. valueLen is the original value's size. Each cut is
// named in a header. out's headers are replaced, never changed in place:
// the caller may retry from the same ones.
func Shrink(out *kgo.Record, level, valueLen int) {
	if level == 1 && len(out.Value) > event.MaxRecordBytes {
		out.Value = out.Value[:event.MaxRecordBytes]
	} else {
		out.Value = nil
	}
	hs := append(slices.Clip(out.Headers), intHeader(HeaderDLQTruncated, valueLen))
	if level >= 3 {
		kept := make([]kgo.RecordHeader, 0, 10)
		for _, h := range hs {
			if isDeadLetterHeader(h.Key) {
				kept = append(kept, h)
			}
		}
		hs = append(kept, intHeader(HeaderDLQHeadersDropped, len(hs)-len(kept)))
	}
	if level >= 4 {
		hs = append(hs, intHeader(HeaderDLQKeyDropped, len(out.Key)))
		out.Key = nil
	}
	out.Headers = hs
}

// ParseDeadLetter reads what dead letter kr says about its original. Any
// client may write to the DLQ topic, and earlier Pulses wrote fewer
// headers, so nothing is required: a location header absent or not a
// number leaves -1, attempts not a number 0, a failure time absent or not
// RFC 3339 the dead letter's own timestamp. Values are as written; bound
// them before showing them. Where a header repeats, the last one counts.
func ParseDeadLetter(kr *kgo.Record) DeadLetter {
	d := DeadLetter{Partition: -1, Offset: -1}
	for _, h := range kr.Headers {
		if !isDeadLetterHeader(h.Key) {
			continue
		}
		v := string(h.Value)
		switch h.Key {
		case HeaderDLQTopic:
			d.Topic = v
		case HeaderDLQPartition:
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				d.Partition = int32(n)
			}
		case HeaderDLQOffset:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				d.Offset = n
			}
		case HeaderDLQError:
			d.Error = v
		case HeaderDLQAttempts:
			d.Attempts, _ = strconv.Atoi(v)
		case HeaderDLQConsumerID:
			d.ConsumerID = v
		case HeaderDLQFailedAt:
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				d.FailedAt = t.UTC()
			}
		case HeaderDLQEventID:
			d.EventID = v
		case HeaderDLQTruncated:
			if n, err := strconv.Atoi(v); err == nil {
				d.Truncated, d.TruncatedFrom = true, n
			}
		case HeaderDLQHeadersDropped:
			if n, err := strconv.Atoi(v); err == nil {
				d.HeadersDropped, d.DroppedHeaders = true, n
			}
		case HeaderDLQKeyDropped:
			if n, err := strconv.Atoi(v); err == nil {
				d.KeyDropped, d.DroppedKeyBytes = true, n
			}
		}
	}
	if d.FailedAt.IsZero() {
		d.FailedAt = kr.Timestamp.UTC()
	}
	return d
}

// DerivedID is the id the original, a record without event_id, was stored
// under: the one the dead letter names, or, for a dead letter of an
// earlier Pulse, the one derived from the original's coordinates as it was
// then. It is empty when the dead letter says neither.
func (d *DeadLetter) DerivedID() string {
	if event.IsDerived(d.EventID) {
		return d.EventID
	}
	if d.Topic != "" && d.Offset >= 0 {
		return event.DerivedID(d.Topic, d.Partition, d.Offset)
	}
	return ""
}
