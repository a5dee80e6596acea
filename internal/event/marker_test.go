package event

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestRewindDetailRoundTrip(t *testing.T) {
	ranges := []RewoundRange{{Partition: 0, From: 0, To: 10}, {Partition: 2, From: 5, To: 120}}
	d := RewindDetail("dashboard_consumer_group", "user_events", "2026-12-01T14:00:00Z", ranges, 125)
	if want := "group dashboard_consumer_group rewound on user_events to 2026-12-01T14:00:00Z: partition 0 offsets 0-10, partition 2 offsets 5-120; 125 records to process again"; d != want {
		t.Errorf("detail = %q, want %q", d, want)
	}
	topic, got, ok := ParseRewindDetail(d)
	if !ok || topic != "user_events" || !reflect.DeepEqual(got, ranges) {
		t.Errorf("ParseRewindDetail = %q, %+v, %v", topic, got, ok)
	}
	if _, _, ok := ParseRewindDetail("partition 0: committed offset 3 unchanged"); ok {
		t.Error("parsed a commit-stall detail")
	}
}

// RewindsOf is the rule both the timeline and the pipeline follow: a
// rewind at or after the record finished whose ranges hold its offset.
func TestRewindsOf(t *testing.T) {
	done := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	rw := func(at time.Time, topic string, rs ...RewoundRange) Marker {
		return Marker{T: at, Kind: MarkerRewind, Detail: RewindDetail("g", topic, "earliest", rs, 1)}
	}
	p1 := RewoundRange{Partition: 1, From: 10, To: 20}
	ms := []Marker{
		rw(done.Add(-time.Second), "user_events", p1),                                           // before the record finished
		rw(done, "user_events", p1),                                                             // at: counts
		rw(done.Add(time.Minute), "other", p1),                                                  // another topic
		rw(done.Add(2*time.Minute), "user_events", RewoundRange{Partition: 0, From: 0, To: 99}), // another partition
		{T: done.Add(3 * time.Minute), Kind: MarkerRebalance, Detail: RewindDetail("g", "user_events", "earliest", []RewoundRange{p1}, 1)},
		rw(done.Add(4*time.Minute), "user_events", RewoundRange{Partition: 0, From: 0, To: 5}, p1),
	}
	for _, c := range []struct {
		offset int64
		want   []time.Time
	}{
		{10, []time.Time{done, done.Add(4 * time.Minute)}},
		{19, []time.Time{done, done.Add(4 * time.Minute)}},
		{20, nil}, // the range's end is not in it
		{9, nil},
	} {
		var got []time.Time
		for _, m := range RewindsOf(ms, "user_events", 1, c.offset, done) {
			got = append(got, m.T)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("offset %d: rewinds at %v, want %v", c.offset, got, c.want)
		}
	}
}
