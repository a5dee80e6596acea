package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Besides the fixed dimensions, the rollups count events by the values of
// the property keys a team chooses (a breakdown by plan or country, say),
// so that such a trend reads rows per bucket instead of the events.
//
// A key's rows carry the dimension RollupKeyDim(id): a key removed and
// added again gets a new id and never meets the rows of its first life.
// Its counts cover the events whose id is at least the key's counted_from:
// the writers count every event stored after the key was added (in the
// same transaction as the batch, reading the key set inside it), and
// FillRollupKeys walks counted_from down over the events stored before,
// a chunk at a time, until none is left; the key is then ready. Retention
// takes off only the events a key counted. So the counts agree with the
// rows whatever runs at the same time, and adding a key costs no pause of
// the writers beyond the instant it takes to note where they are.

// MaxRollupKeys bounds the keys kept: each costs every stored event one
// more row update per rollup width.
const MaxRollupKeys = 10

// MaxRollupValue bounds the JSON text of a value kept in the rollups (a
// value over it is counted under UnkeptRollupValue): a breakdown is by
// short values, and PostgreSQL's index refuses a key over about 2.7 KB.
const MaxRollupValue = 256

// UnkeptRollupValue is the value a property's rollup counts an event
// under when it cannot keep the event's value: longer than
// MaxRollupValue, or (on PostgreSQL) in properties its JSON functions
// cannot read. No JSON text starts with '~', so it names nothing else; a
// range that holds one is answered from the events instead (ErrNoRollup).
const UnkeptRollupValue = "~"

// RollupKeyDim is the dimension of the rollup rows of key id.
func RollupKeyDim(id int64) string { return fmt.Sprintf("#%d", id) }

// ErrNoRollup says the rollups cannot answer a property's counts (the key
// is not kept, not yet filled, or a value in the range is too long): the
// caller reads the events instead.
var ErrNoRollup = errors.New("no rollup for this property")

// ErrRollupKeyLimit refuses a key beyond MaxRollupKeys.
var ErrRollupKeyLimit = fmt.Errorf("at most %d property keys are kept in the rollups: remove one first", MaxRollupKeys)

// RollupKeyState is a property key the rollups count by, and how far their
// counts of the events stored before it was added have come.
type RollupKeyState struct {
	Key     string    `json:"key"`
	AddedAt time.Time `json:"added_at"`
	// Ready is true once every stored event is counted: trends by the key
	// read the rollups from then on.
	Ready bool `json:"ready"`
	// Filled is the share, 0 to 1, of the events stored before the key
	// was added that are counted.
	Filled float64 `json:"filled"`
}

// RollupKeys manages the property keys of the rollups.
type RollupKeys interface {
	// AddRollupKey starts counting by a property key (a bare key such as
	// "plan", see CheckRollupKey). Adding a kept key changes nothing.
	AddRollupKey(ctx context.Context, key string) (RollupKeyState, error)
	// RemoveRollupKey stops counting by key; its rows go in the
	// background (FillRollupKeys). ErrNotFound when it is not kept.
	RemoveRollupKey(ctx context.Context, key string) error
	// RollupKeyList returns the kept keys in the order they were added.
	RollupKeyList(ctx context.Context) ([]RollupKeyState, error)
	// FillRollupKeys does one short step of the background work: counting
	// chunk event ids of those stored before a key was added, or deleting
	// a chunk of a removed key's rows. It returns false when nothing is
	// left to do. Several servers on one database may call it at once.
	FillRollupKeys(ctx context.Context, chunk int64) (more bool, err error)
}

// CheckRollupKey refuses a property key the rollups cannot keep, naming
// the problem.
func CheckRollupKey(key string) error {
	if strings.HasPrefix(key, PropertyPrefix) {
		return fmt.Errorf("property key %q: give the key alone, without %q", key, PropertyPrefix)
	}
	return CheckField(PropertyPrefix + key)
}

// FillChunk is how many event ids one FillRollupKeys step counts, and
// RemoveChunk how many rollup rows one step of a removal deletes: each
// step is a transaction of a few tens of milliseconds, between which the
// writers go on.
const (
	FillChunk   = 20_000
	RemoveChunk = 20_000
)

// MergePropertyCounts turns the rows of a property's rollup, whose values
// are JSON texts, into counts by the text a scan reports (PropertyText):
// two JSON spellings of one string are one value. ErrNoRollup when a
// value was too long to be kept.
func MergePropertyCounts(rows []RollupCount) ([]RollupCount, error) {
	type key struct {
		bucket          int64
		eventType, text string
	}
	index := make(map[key]int, len(rows))
	out := rows[:0:0]
	for _, r := range rows {
		if r.Value == UnkeptRollupValue {
			return nil, fmt.Errorf("%w: a value in the range is over %d bytes or undecodable", ErrNoRollup, MaxRollupValue)
		}
		k := key{r.Bucket, r.EventType, PropertyText([]byte(r.Value))}
		if i, ok := index[k]; ok {
			out[i].Events += r.Events
			continue
		}
		index[k] = len(out)
		out = append(out, RollupCount{Bucket: r.Bucket, EventType: r.EventType, Value: k.text, Events: r.Events})
	}
	kept := out[:0]
	for _, r := range out {
		if r.Events != 0 {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// FilledShare is how much of the span [low, from) counted_from has
// covered, going down from from.
func FilledShare(low, countedFrom, from int64, ready bool) float64 {
	if ready || from <= low {
		return 1
	}
	return min(1, max(0, float64(from-countedFrom)/float64(from-low)))
}
