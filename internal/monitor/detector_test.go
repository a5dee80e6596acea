package monitor

import (
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
)

func TestDetectorDLQBurst(t *testing.T) {
	d := newDetector(Config{StallAfter: 10 * time.Second, BurstWindow: 5 * time.Second, BurstThreshold: 10})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if m := d.deadLetters(t0, 100); m != nil {
		t.Fatalf("first sample: %v", m)
	}
	if m := d.deadLetters(t0.Add(time.Second), 105); m != nil {
		t.Fatalf("5 in a second: %v", m)
	}
	m := d.deadLetters(t0.Add(2*time.Second), 115)
	if len(m) != 1 || m[0].Kind != event.MarkerDLQBurst {
		t.Fatalf("15 in 2 s: %v", m)
	}
	// The same burst is not marked twice.
	if m := d.deadLetters(t0.Add(3*time.Second), 130); m != nil {
		t.Fatalf("within the window of the last marker: %v", m)
	}
	// A slow trickle is no burst: 2 a second.
	for i := 10; i < 30; i++ {
		if m := d.deadLetters(t0.Add(time.Duration(i)*time.Second), 130+int64(2*(i-10))); m != nil {
			t.Fatalf("trickle at %ds: %v", i, m)
		}
	}
}

func TestDetectorRebalanceAndCommitStall(t *testing.T) {
	d := newDetector(Config{StallAfter: 10 * time.Second, BurstWindow: 5 * time.Second, BurstThreshold: 10})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	members := func(parts ...[]int32) []kafka.GroupMember {
		var out []kafka.GroupMember
		for i, p := range parts {
			out = append(out, kafka.GroupMember{ClientID: string(rune('a' + i)), Partitions: p})
		}
		return out
	}
	lag := kafka.GroupLag{Group: "g", State: "Stable", Members: members([]int32{0, 1}),
		Partitions: []kafka.PartitionLag{{Partition: 0, CommittedOffset: 5, EndOffset: 9, Lag: 4}, {Partition: 1, CommittedOffset: 3, EndOffset: 3}}}
	if m := d.group(t0, lag); m != nil {
		t.Fatalf("first sample: %v", m)
	}
	// Rebalancing states mark nothing; the new Stable assignment does.
	lag.State = "PreparingRebalance"
	if m := d.group(t0.Add(time.Second), lag); m != nil {
		t.Fatalf("preparing: %v", m)
	}
	lag.State, lag.Members = "Stable", members([]int32{0}, []int32{1})
	m := d.group(t0.Add(2*time.Second), lag)
	if len(m) != 1 || m[0].Kind != event.MarkerRebalance {
		t.Fatalf("reassigned: %v", m)
	}
	// Partition 0 keeps offset 5 with lag: a stall after 10 s, once.
	m = d.group(t0.Add(10*time.Second), lag)
	if len(m) != 1 || m[0].Kind != event.MarkerCommitStall {
		t.Fatalf("stalled: %v", m)
	}
	if m := d.group(t0.Add(12*time.Second), lag); m != nil {
		t.Fatalf("stall marked twice: %v", m)
	}
	// Moving on clears it; partition 1 without lag never stalls.
	lag.Partitions[0].CommittedOffset = 6
	if m := d.group(t0.Add(30*time.Second), lag); m != nil {
		t.Fatalf("moved: %v", m)
	}
}

// Committed offsets that move back were rewound by someone (pulse topics
// rewind, another tool): marked, with the offsets given back; a rewind
// the monitor made itself is not marked twice.
func TestDetectorRewind(t *testing.T) {
	d := newDetector(Config{StallAfter: 10 * time.Second, BurstWindow: 5 * time.Second, BurstThreshold: 10})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lag := kafka.GroupLag{Group: "g", Topic: "user_events", State: "Empty",
		Partitions: []kafka.PartitionLag{{Partition: 0, CommittedOffset: 50, EndOffset: 50}, {Partition: 1, CommittedOffset: -1, EndOffset: 7, Lag: 7}}}
	d.group(t0, lag)
	lag.Partitions[0].CommittedOffset, lag.Partitions[0].Lag = 20, 30
	m := d.group(t0.Add(time.Second), lag)
	if len(m) != 1 || m[0].Kind != event.MarkerRewind {
		t.Fatalf("after a move back: %v", m)
	}
	topic, ranges, ok := event.ParseRewindDetail(m[0].Detail)
	if !ok || topic != "user_events" || len(ranges) != 1 || ranges[0] != (event.RewoundRange{Partition: 0, From: 20, To: 50}) {
		t.Errorf("marker detail %q: %q %+v", m[0].Detail, topic, ranges)
	}
	d.rewound(t0.Add(2*time.Second), map[int32]int64{0: 5})
	lag.Partitions[0].CommittedOffset = 5
	if m := d.group(t0.Add(3*time.Second), lag); len(m) != 0 {
		t.Errorf("a rewind the monitor made was marked again: %v", m)
	}
	// While a rewind of partition 0 is under way, its move back is the
	// rewind's to mark; once it ended, a move back is someone else's.
	d.rewindStarted([]int32{0})
	lag.Partitions[0].CommittedOffset = 2
	if m := d.group(t0.Add(4*time.Second), lag); len(m) != 0 {
		t.Errorf("a move back while the monitor's rewind was under way was marked: %v", m)
	}
	d.rewindEnded([]int32{0}, t0.Add(5*time.Second), map[int32]int64{0: 2})
	lag.Partitions[0].CommittedOffset = 1
	if m := d.group(t0.Add(6*time.Second), lag); len(m) != 1 {
		t.Errorf("a move back after the rewind ended: %v; want it marked", m)
	}
}
