package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// The distinct users and sessions of the stored events are kept as
// HyperLogLog sketches (github.com/axiomhq/hyperloglog, precision 14) per
// bucket of event time and type: mergeable, so a day's users are the union
// of its type's sketches and a week's the union of its days', read without
// the events. A sketch is exact up to a few thousand ids (its sparse
// form), within about 1% beyond. Adding an id twice changes nothing, so a
// redelivered event adds nothing either.
const (
	UniqueMinute int64 = 60
	UniqueHour   int64 = 3600
	UniqueDay    int64 = 86400
)

// UniqueWidths are the widths every event is counted at: minutes for the
// live panel and trends by minute, hours for trends by hour, days for
// trends by day and week.
var UniqueWidths = []int64{UniqueMinute, UniqueHour, UniqueDay}

// UniqueKey is one row of sketches. The partition is in the key, as in the
// rollups, so that writers of different partitions never share a row.
type UniqueKey struct {
	Width, Bucket int64
	EventType     string
	Partition     int32
}

// Sketches are the users and the sessions of one key.
type Sketches struct {
	Users, Sessions *hyperloglog.Sketch
}

// NewSketch returns an empty sketch of the precision the store keeps.
func NewSketch() *hyperloglog.Sketch { return hyperloglog.New14() }

// EncodeSketch and DecodeSketch are a sketch's stored form.
func EncodeSketch(s *hyperloglog.Sketch) ([]byte, error) { return s.MarshalBinary() }

func DecodeSketch(b []byte) (*hyperloglog.Sketch, error) {
	s := NewSketch()
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("decode a sketch: %w", err)
	}
	return s, nil
}

// UniqueDelta is what a transaction adds to the sketches: the ids of the
// events it stored, per key.
type UniqueDelta map[UniqueKey]*Sketches

// Event adds a stored event's user and session (when it has one).
func (d UniqueDelta) Event(partition int32, ts time.Time, eventType, userID, sessionID string) {
	for _, w := range UniqueWidths {
		k := UniqueKey{w, RollupBucket(ts, w), eventType, partition}
		s := d[k]
		if s == nil {
			s = &Sketches{NewSketch(), NewSketch()}
			d[k] = s
		}
		s.Users.Insert([]byte(userID))
		if sessionID != "" {
			s.Sessions.Insert([]byte(sessionID))
		}
	}
}

// Keys returns the keys in key order: writers that lock rows in one order
// cannot deadlock on them.
func (d UniqueDelta) Keys() []UniqueKey {
	keys := make([]UniqueKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b UniqueKey) int {
		return cmp.Or(cmp.Compare(a.Width, b.Width), cmp.Compare(a.EventType, b.EventType),
			cmp.Compare(a.Bucket, b.Bucket), cmp.Compare(a.Partition, b.Partition))
	})
	return keys
}

// Merge adds the stored form of a row's sketches to s and returns the
// merged stored form.
func (s *Sketches) Merge(users, sessions []byte) (u, ss []byte, err error) {
	for _, x := range []struct {
		stored []byte
		into   *hyperloglog.Sketch
		out    *[]byte
	}{{users, s.Users, &u}, {sessions, s.Sessions, &ss}} {
		merged := x.into.Clone()
		if len(x.stored) > 0 {
			old, err := DecodeSketch(x.stored)
			if err != nil {
				return nil, nil, err
			}
			if err := merged.Merge(old); err != nil {
				return nil, nil, fmt.Errorf("merge sketches: %w", err)
			}
		}
		if *x.out, err = EncodeSketch(merged); err != nil {
			return nil, nil, err
		}
	}
	return u, ss, nil
}

// UniqueQuery selects sketches: one width, the buckets in [From, To), the
// types in Types (all when empty).
type UniqueQuery struct {
	Width    int64
	From, To time.Time
	Types    []string
}

// UniqueRow is one row's sketches, in their stored form.
type UniqueRow struct {
	Bucket          int64
	EventType       string
	Users, Sessions []byte
}

// Uniques is the store's part of the trends of users and sessions.
type Uniques interface {
	// UniqueSketches calls fn for each row q selects (one per partition
	// of a bucket and type), in no particular order.
	UniqueSketches(ctx context.Context, q UniqueQuery, fn func(UniqueRow) error) error
}

// UniqueFiller builds the sketches of events read type by type, each type
// in time order (an upgrade filling them from the events already stored),
// and writes each key's once its bucket is complete: it holds one bucket
// per width and partition at a time, whatever the number of events.
type UniqueFiller struct {
	// Write stores one key's sketches.
	Write func(UniqueKey, *Sketches) error
	typ   string
	open  map[[2]int64]UniqueKey // by width and partition
	delta UniqueDelta
}

// Add counts one event; the events of a type must come in time order.
func (f *UniqueFiller) Add(partition int32, ts time.Time, eventType, userID, sessionID string) error {
	if f.delta == nil {
		f.open, f.delta = map[[2]int64]UniqueKey{}, UniqueDelta{}
	}
	if eventType != f.typ {
		if err := f.Flush(); err != nil {
			return err
		}
		f.typ = eventType
	}
	for _, w := range UniqueWidths {
		at := [2]int64{w, int64(partition)}
		k := UniqueKey{w, RollupBucket(ts, w), eventType, partition}
		if open, ok := f.open[at]; ok && open != k {
			if err := f.Write(open, f.delta[open]); err != nil {
				return err
			}
			delete(f.delta, open)
		}
		f.open[at] = k
	}
	f.delta.Event(partition, ts, eventType, userID, sessionID)
	return nil
}

// Flush writes the buckets still open.
func (f *UniqueFiller) Flush() error {
	for _, k := range f.delta.Keys() {
		if err := f.Write(k, f.delta[k]); err != nil {
			return err
		}
	}
	f.open, f.delta = map[[2]int64]UniqueKey{}, UniqueDelta{}
	return nil
}
