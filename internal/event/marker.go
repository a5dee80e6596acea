package event

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MarkerKind names an operational moment worth marking on the live charts.
type MarkerKind string

// Marker kinds.
const (
	MarkerRebalance   MarkerKind = "rebalance"
	MarkerCommitStall MarkerKind = "commit_stall"
	MarkerDLQBurst    MarkerKind = "dlq_burst"
	// An alert rule started firing, or resolved.
	MarkerAlertFiring   MarkerKind = "alert_firing"
	MarkerAlertResolved MarkerKind = "alert_resolved"
)

// Marker is one such moment: a rebalance, a commit stall, a burst of
// dead letters, an alert firing or resolving, a rewind.
type Marker struct {
	T      time.Time  `json:"t"`
	Kind   MarkerKind `json:"kind"`
	Detail string     `json:"detail"`
}

// MarkerRewind marks an operator's rewind of the consumer group; its
// detail is written by RewindDetail and read back by ParseRewindDetail.
const MarkerRewind MarkerKind = "rewind"

// RewoundRange is the offsets [From, To) of one partition that a rewind
// gives to the group to process again.
type RewoundRange struct {
	Partition int32
	From, To  int64
}

// RewindDetail is the detail of a rewind marker: readable on the chart,
// and the ranges the message timeline reads back with ParseRewindDetail.
func RewindDetail(group, topic, to string, ranges []RewoundRange, records int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "group %s rewound on %s to %s", group, topic, to)
	for i, r := range ranges {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%spartition %d offsets %d-%d", sep, r.Partition, r.From, r.To)
	}
	fmt.Fprintf(&b, "; %d records to process again", records)
	return b.String()
}

var (
	rewindTopicRe = regexp.MustCompile(`^group \S+ rewound on (\S+) to `)
	rewindRangeRe = regexp.MustCompile(`partition (\d+) offsets (\d+)-(\d+)`)
)

// ParseRewindDetail reads back the topic and ranges of RewindDetail.
func ParseRewindDetail(detail string) (topic string, ranges []RewoundRange, ok bool) {
	m := rewindTopicRe.FindStringSubmatch(detail)
	if m == nil {
		return "", nil, false
	}
	for _, r := range rewindRangeRe.FindAllStringSubmatch(detail, -1) {
		p, _ := strconv.ParseInt(r[1], 10, 32)
		from, _ := strconv.ParseInt(r[2], 10, 64)
		to, _ := strconv.ParseInt(r[3], 10, 64)
		ranges = append(ranges, RewoundRange{Partition: int32(p), From: from, To: to})
	}
	return m[1], ranges, true
}

// RewindsOf returns the rewind markers among ms that gave the record at
// topic's partition and offset, finished at done, back to its group: the
// message timeline says it was processed again after each, and a member
// given it again processes it rather than settling it as stored.
func RewindsOf(ms []Marker, topic string, partition int32, offset int64, done time.Time) []Marker {
	var out []Marker
	for _, mk := range ms {
		if mk.Kind != MarkerRewind || mk.T.Before(done) {
			continue
		}
		t, ranges, ok := ParseRewindDetail(mk.Detail)
		if !ok || t != topic {
			continue
		}
		for _, rg := range ranges {
			if rg.Partition == partition && offset >= rg.From && offset < rg.To {
				out = append(out, mk)
				break
			}
		}
	}
	return out
}
