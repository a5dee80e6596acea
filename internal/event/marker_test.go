package event

import (
	"reflect"
	"testing"
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
