package event

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// Ids Pulse derives for Kafka records without an event_id are version 8
// UUIDs, a namespace clients may not use (Validate refuses them): a
// client could otherwise send, in advance, the id a future record would
// get and so have that record dropped as a duplicate.

// Header is a Kafka record header, as RecordRef carries it.
type Header struct {
	Key   string
	Value []byte
}

// RecordRef is what identifies a Kafka record: where it is and what it
// holds.
type RecordRef struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	Key       []byte
	Value     []byte
	Headers   []Header
}

// RecordID is the event_id of a Kafka record that carries none. A
// redelivery of the record gets the same id; a different record at the
// same coordinates (after the broker's log was replaced or the topic
// recreated, with the database kept) gets another, because the id holds a
// hash of the record's timestamp, key, value and headers as well as its
// coordinates.
//
// It is a version 8 UUID laid out to sort by offset within a partition,
// for the same index locality as NewID (ids landing next to each other in
// the store's unique index instead of on random pages): 16 bits of a hash
// of the topic, 16 bits of the partition, 42 bits of the offset (around
// the UUID's version and variant bits), then 48 bits of the hash of
// everything. The coordinates serve locality only; a partition above
// 65535 or an offset above 2^42 wraps and loses locality, not uniqueness.
func RecordID(r RecordRef) string {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(r.Topic))
	binary.BigEndian.PutUint64(n[:], uint64(r.Partition))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.Offset))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.Timestamp.UnixMilli()))
	h.Write(n[:])
	if r.Key == nil {
		h.Write([]byte{0}) // a null key is not an empty one
	} else {
		h.Write([]byte{1})
		field(r.Key)
	}
	field(r.Value)
	binary.BigEndian.PutUint64(n[:], uint64(len(r.Headers)))
	h.Write(n[:])
	for _, hd := range r.Headers {
		field([]byte(hd.Key))
		field(hd.Value)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	topic := sha256.Sum256([]byte(r.Topic))

	off := uint64(r.Offset) & (1<<42 - 1)
	var b [16]byte
	copy(b[0:2], topic[0:2])
	binary.BigEndian.PutUint16(b[2:4], uint16(r.Partition))
	b[4] = byte(off >> 34)
	b[5] = byte(off >> 26)
	b[6] = 0x80 | byte(off>>22)&0x0f // version 8
	b[7] = byte(off >> 14)
	b[8] = 0x80 | byte(off>>8)&0x3f // RFC 9562 variant
	b[9] = byte(off)
	copy(b[10:16], sum[0:6])
	return uuid.UUID(b).String()
}

// DerivedID is the id an earlier Pulse derived for a record without an
// event_id, from its coordinates alone. Ids repeat when offsets are
// reused (a replaced log, a recreated topic), so new records get RecordID;
// this remains to recognise rows and dead letters stored under it.
func DerivedID(topic string, partition int32, offset int64) string {
	h := sha1.Sum([]byte(topic))
	var b [16]byte
	copy(b[0:4], h[0:4])
	binary.BigEndian.PutUint16(b[4:6], uint16(partition))
	b[6] = 0x80 | byte(partition>>16)&0x0f // version 8, then 4 more partition bits
	b[7] = byte(partition >> 20)
	binary.BigEndian.PutUint64(b[8:16], uint64(offset))
	b[8] = 0x80 | b[8]&0x3f // RFC 9562 variant; offsets stay below 2^62
	return uuid.UUID(b).String()
}

// IsDerived reports whether id is in the namespace of derived ids: a
// version 8 UUID, in any of the forms uuid.Parse reads.
func IsDerived(id string) bool {
	if len(id) < 32 {
		return false
	}
	u, err := uuid.Parse(id)
	return err == nil && u.Version() == 8
}

// checkClaim refuses a client-supplied event_id in the derived namespace.
func checkClaim(id string) error {
	if IsDerived(id) {
		return invalid("event_id", "is a version 8 UUID, reserved for the ids Pulse derives for Kafka records without one; use another id (a UUID v4 or v7)")
	}
	return nil
}
