// Package ledger is the delivery ledger of the sources that send through
// the collector (docs/tracker.md): per source and 10 s bucket, the events
// the clients numbered, received, stored, doubled, dropped on the client
// and never seen. It is how Pulse shows, rather than claims, that nothing
// is lost or doubled.
//
// Counts come from two places. The collector counts what it received and
// refused, once per request (AddReceived). The store counts, in the
// transaction that stores the events, what it stored and what it dropped
// as a copy of a stored event, and advances each stream's highest
// sequence number: one event stored is counted once whatever the
// redeliveries, and a client's report travels with an event so that it
// is counted once too (Delivery).
package ledger

import (
	"cmp"
	"slices"
	"time"

	"github.com/pulse-dev/pulse/internal/series"
)

// Bucket is the ledger's resolution, the series' own so that the same
// ranges and steps serve both.
const Bucket = series.Bucket

// Keep is how long the ledger is kept.
const Keep = series.Keep

// Counts are one bucket's (or one range's) figures.
type Counts struct {
	// Numbered is how far the clients' sequence numbers went: per stream,
	// the growth of its highest number.
	Numbered int64 `json:"numbered"`
	// Received counts events the collector accepted, retries included;
	// Rejected the events it refused (each with its reason to the client);
	// DNTDropped the events it dropped because the browser asked not to
	// be tracked and the source honours it.
	Received   int64 `json:"received"`
	Rejected   int64 `json:"rejected"`
	DNTDropped int64 `json:"dnt_dropped"`
	// Stored counts events stored for the first time; Sequenced those of
	// them that carried a sequence number.
	Stored    int64 `json:"stored"`
	Sequenced int64 `json:"sequenced"`
	// Duplicates counts copies of stored events (same event_id), dropped.
	Duplicates int64 `json:"duplicates"`
	// DroppedClient counts events the clients discarded (queue full), as
	// they reported it.
	DroppedClient int64 `json:"dropped_client"`
	// Late counts events stored after a higher number of their stream:
	// they filled a gap.
	Late int64 `json:"late"`
	// SkewCorrected counts events whose time the collector moved because
	// the client's clock was off.
	SkewCorrected int64 `json:"skew_corrected"`
}

// Gaps is what was numbered and never stored (lost, blocked or still
// queued on a client). Over a range it can be negative when events that
// were late filled gaps opened before it.
func (c Counts) Gaps() int64 { return c.Numbered - c.Sequenced }

// Add adds o's counts to c.
func (c *Counts) Add(o Counts) {
	c.Numbered += o.Numbered
	c.Received += o.Received
	c.Rejected += o.Rejected
	c.DNTDropped += o.DNTDropped
	c.Stored += o.Stored
	c.Sequenced += o.Sequenced
	c.Duplicates += o.Duplicates
	c.DroppedClient += o.DroppedClient
	c.Late += o.Late
	c.SkewCorrected += o.SkewCorrected
}

// Zero reports whether c counts nothing.
func (c Counts) Zero() bool { return c == Counts{} }

// Point is a source's counts in the step or bucket starting at T.
type Point struct {
	T        time.Time `json:"t"`
	SourceID string    `json:"source_id"`
	Counts
}

// Delivery is what the collector learned about one event on its way in,
// carried in its Kafka record's headers and counted by the store only
// when the event is stored for the first time.
type Delivery struct {
	// ClientDropped is the count of events the client discarded, reported
	// with the batch this event came in (only its first event carries it).
	ClientDropped int64
	// SkewCorrected says the collector moved the event's time.
	SkewCorrected bool
}

// Key is one row of the ledger: a bucket, a source and a partition (in
// the key so that consumers owning different partitions never update one
// row; -1 for the collector's counts).
type Key struct {
	Bucket    int64
	SourceID  string
	Partition int32
}

// StreamKey names one stream of sequence numbers.
type StreamKey struct {
	SourceID string
	StreamID string
}

// Delta is what one store transaction adds to the ledger.
type Delta struct {
	Rows map[Key]Counts
	// Streams lists, per stream, the sequence numbers stored in this
	// transaction in the order they were, and the partition of the first.
	Streams map[StreamKey]*StreamSeqs
}

// StreamSeqs are the numbers one transaction stored for one stream.
type StreamSeqs struct {
	Partition int32
	Seqs      []int64
}

// Stored counts an event stored for the first time at storedAt.
func (d *Delta) Stored(storedAt time.Time, partition int32, sourceID, streamID string, seq int64, dl Delivery) {
	k := d.row(storedAt, sourceID, partition)
	c := d.Rows[k]
	c.Stored++
	c.DroppedClient += dl.ClientDropped
	if dl.SkewCorrected {
		c.SkewCorrected++
	}
	if seq > 0 {
		c.Sequenced++
		if d.Streams == nil {
			d.Streams = make(map[StreamKey]*StreamSeqs)
		}
		sk := StreamKey{sourceID, streamID}
		s := d.Streams[sk]
		if s == nil {
			s = &StreamSeqs{Partition: partition}
			d.Streams[sk] = s
		}
		s.Seqs = append(s.Seqs, seq)
	}
	d.Rows[k] = c
}

// Duplicate counts a copy of a stored event, dropped.
func (d *Delta) Duplicate(at time.Time, partition int32, sourceID string) {
	k := d.row(at, sourceID, partition)
	c := d.Rows[k]
	c.Duplicates++
	d.Rows[k] = c
}

// Advance applies a stream's numbers once the store knows the highest one
// stored before (prev, 0 for a new stream): it counts the growth as
// numbered and every number below the running highest as late, and
// returns the new highest.
func (d *Delta) Advance(at time.Time, sk StreamKey, prev int64) int64 {
	s := d.Streams[sk]
	high := prev
	var late int64
	for _, n := range s.Seqs {
		if n < high {
			late++
		}
		high = max(high, n)
	}
	k := d.row(at, sk.SourceID, s.Partition)
	c := d.Rows[k]
	c.Numbered += high - prev
	c.Late += late
	d.Rows[k] = c
	return high
}

func (d *Delta) row(at time.Time, sourceID string, partition int32) Key {
	if d.Rows == nil {
		d.Rows = make(map[Key]Counts)
	}
	return Key{series.BucketOf(at), sourceID, partition}
}

// Empty reports whether d adds nothing.
func (d *Delta) Empty() bool { return len(d.Rows) == 0 }

// StreamRows returns the streams in key order: writers that lock rows in
// one order cannot deadlock on them.
func (d *Delta) StreamRows() []StreamKey {
	keys := make([]StreamKey, 0, len(d.Streams))
	for k := range d.Streams {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b StreamKey) int {
		return cmp.Or(cmp.Compare(a.SourceID, b.SourceID), cmp.Compare(a.StreamID, b.StreamID))
	})
	return keys
}

// RowKeys returns the rows in key order.
func (d *Delta) RowKeys() []Key {
	keys := make([]Key, 0, len(d.Rows))
	for k := range d.Rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.SourceID, b.SourceID), cmp.Compare(a.Partition, b.Partition))
	})
	return keys
}
