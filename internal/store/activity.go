package store

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// The activity says which users were active on which UTC day, per event
// type, with their events that day; the
// first-seen table says when each user's first event was. Each batch's
// transaction adds to them, and retention takes the events it deletes off
// the activity, so the activity agrees with the rows; a user's first
// seen outlives the events (it is when the user came, not a count).
// Retention cohorts and unique users per day read them, never the events.

// DaySeconds is the width of an activity day.
const DaySeconds = 86400

// Day is the number of the UTC day holding t, counted from 1970-01-01.
func Day(t time.Time) int64 {
	sec := t.Unix()
	return (sec - mod(sec, DaySeconds)) / DaySeconds
}

// DayStart is the start of day d.
func DayStart(d int64) time.Time { return time.Unix(d*DaySeconds, 0).UTC() }

// ActivityKey is one activity row. As in the rollups, the partition is in
// the key so that writers of different partitions never share a row.
type ActivityKey struct {
	Day       int64
	UserID    string
	EventType string
	Partition int32
}

// ActivityDelta is what a transaction adds to (or takes off) the activity
// and, for events stored, the users' first seen.
type ActivityDelta struct {
	Events map[ActivityKey]int64
	// First is the earliest event time (Unix microseconds) of each user and
	// partition among the events stored.
	First map[FirstSeenKey]int64
}

// FirstSeenKey is one first-seen row: a user, per partition.
type FirstSeenKey struct {
	UserID    string
	Partition int32
}

// Event counts an event stored (sign 1) or deleted (-1).
func (d *ActivityDelta) Event(partition int32, ts time.Time, eventType, userID string, sign int64) {
	if d.Events == nil {
		d.Events = map[ActivityKey]int64{}
	}
	d.Events[ActivityKey{Day(ts), userID, eventType, partition}] += sign
	if sign < 0 {
		return
	}
	if d.First == nil {
		d.First = map[FirstSeenKey]int64{}
	}
	k, us := FirstSeenKey{userID, partition}, ts.UnixMicro()
	if cur, ok := d.First[k]; !ok || us < cur {
		d.First[k] = us
	}
}

// Rows returns the changed activity keys in key order, so that writers
// lock rows in one order.
func (d *ActivityDelta) Rows() []ActivityKey {
	keys := make([]ActivityKey, 0, len(d.Events))
	for k, n := range d.Events {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b ActivityKey) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.UserID, b.UserID),
			cmp.Compare(a.EventType, b.EventType), cmp.Compare(a.Partition, b.Partition))
	})
	return keys
}

// Firsts returns the first-seen keys in key order.
func (d *ActivityDelta) Firsts() []FirstSeenKey {
	keys := make([]FirstSeenKey, 0, len(d.First))
	for k := range d.First {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b FirstSeenKey) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Partition, b.Partition))
	})
	return keys
}

// ActiveDays is a user's days of activity in a span of up to
// ActiveDaysSpan days: bit d of Days is day From+d.
type ActiveDays struct {
	UserID string
	From   int64
	Days   uint64
}

// ActiveDaysSpan is the most days one ActiveDays holds: the bits of a
// signed 64-bit integer but its sign, so that either store can sum them
// up as one.
const ActiveDaysSpan = 63

// FirstSeen is a user and the time of their first event.
type FirstSeen struct {
	UserID string
	At     time.Time
}

// Activity is the store's part of retention and unique users.
type Activity interface {
	// FirstSeenBetween calls fn for each user whose first event's time is
	// in [from, to), in no particular order.
	FirstSeenBetween(ctx context.Context, from, to time.Time, fn func(FirstSeen) error) error
	// ActiveUsers calls fn for each user active on a day in [fromDay,
	// toDay) on eventType ("" for any type), with the user's days: once
	// per user and span of ActiveDaysSpan days (From is the span's first
	// day; a store may start its spans before fromDay, but sets only the
	// days in [fromDay, toDay)), in no particular order. A user's days come
	// together so that a table of 100,000 users over 8 weeks is 100,000
	// calls, not one per user and day.
	ActiveUsers(ctx context.Context, eventType string, fromDay, toDay int64, fn func(ActiveDays) error) error
}
