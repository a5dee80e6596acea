package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// RewindError is a rewind Pulse refuses: an unknown group, a target
// outside the retained log or in the future, bad partitions. Msg says why
// in words for the operator; API answers it as a 4xx.
type RewindError struct {
	// NotFound says the group (or topic) does not exist.
	NotFound bool
	// Conflict says the group's state kept the rewind from being applied
	// (members that did not move their partitions in time).
	Conflict bool
	Msg      string
}

func (e *RewindError) Error() string { return e.Msg }

func refuse(format string, args ...any) error {
	return &RewindError{Msg: fmt.Sprintf(format, args...)}
}

// TargetKind is what a rewind moves a group to.
type TargetKind string

// Target kinds.
const (
	ToTime     TargetKind = "time"
	ToEarliest TargetKind = "earliest"
	ToLatest   TargetKind = "latest"
	ToOffset   TargetKind = "offset"
)

// Target is where a rewind moves each partition: the first record at or
// after Time, the log start, the log end, or given offsets.
type Target struct {
	Kind TargetKind
	Time time.Time
	// Offset applies to every chosen partition when Offsets is nil;
	// Offsets gives one per partition (and chooses the partitions).
	Offset  int64
	Offsets map[int32]int64
}

// String is the target in the form ParseTarget reads.
func (t Target) String() string {
	switch t.Kind {
	case ToTime:
		return t.Time.UTC().Format(time.RFC3339Nano)
	case ToOffset:
		if t.Offsets == nil {
			return "offset:" + strconv.FormatInt(t.Offset, 10)
		}
		ps := slices.Sorted(func(yield func(int32) bool) {
			for p := range t.Offsets {
				if !yield(p) {
					return
				}
			}
		})
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = fmt.Sprintf("%d=%d", p, t.Offsets[p])
		}
		return "offset:" + strings.Join(parts, ",")
	}
	return string(t.Kind)
}

// TargetSyntax is the accepted forms of a target, for messages and help.
const TargetSyntax = `an RFC 3339 time (2026-12-01T14:00:00Z), "earliest", "latest", "offset:N" (every chosen partition) or "offset:P=N,P=N" (one offset per partition)`

// ParseTarget reads a rewind target: an RFC 3339 time, earliest, latest,
// offset:N, or offset:P=N,... .
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return Target{}, refuse("to: required, %s", TargetSyntax)
	case "earliest":
		return Target{Kind: ToEarliest}, nil
	case "latest":
		return Target{Kind: ToLatest}, nil
	}
	if rest, ok := strings.CutPrefix(s, "offset:"); ok {
		if !strings.Contains(rest, "=") {
			n, err := strconv.ParseInt(rest, 10, 64)
			if err != nil || n < 0 {
				return Target{}, refuse("to: %q is not an offset: want offset:N with N a non-negative integer", s)
			}
			return Target{Kind: ToOffset, Offset: n}, nil
		}
		offs := make(map[int32]int64)
		for _, kv := range strings.Split(rest, ",") {
			ps, ns, ok := strings.Cut(kv, "=")
			p, perr := strconv.ParseInt(strings.TrimSpace(ps), 10, 32)
			n, nerr := strconv.ParseInt(strings.TrimSpace(ns), 10, 64)
			if !ok || perr != nil || nerr != nil || p < 0 || n < 0 {
				return Target{}, refuse("to: %q: want offset:P=N,P=N with non-negative partitions and offsets", s)
			}
			if _, dup := offs[int32(p)]; dup {
				return Target{}, refuse("to: partition %d is given twice", p)
			}
			offs[int32(p)] = n
		}
		return Target{Kind: ToOffset, Offsets: offs}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Target{}, refuse("to: %q is not a target: want %s", s, TargetSyntax)
	}
	return Target{Kind: ToTime, Time: t}, nil
}

// ParsePartitions reads a comma-separated list of partitions ("0,2").
func ParsePartitions(s string) ([]int32, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int32
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil || p < 0 {
			return nil, refuse("partitions: %q is not a partition number", f)
		}
		out = append(out, int32(p))
	}
	return out, nil
}

// RewindRequest is a rewind to plan or apply.
type RewindRequest struct {
	Group string
	Topic string
	To    Target
	// Partitions chooses partitions; all of the topic's when empty.
	Partitions []int32
	// KeyScanLimit bounds the records read to count keys; 0 means
	// DefaultKeyScanLimit, negative skips the count.
	KeyScanLimit int
}

// DefaultKeyScanLimit bounds the records a dry run reads to count the
// keys to process again: beyond it the count is a lower bound.
const DefaultKeyScanLimit = 100_000

// keyScanWait bounds the time a dry run spends counting keys.
const keyScanWait = 5 * time.Second

// RewindPartition is one partition of a rewind plan.
type RewindPartition struct {
	Partition int32 `json:"partition"`
	// Committed is the group's committed offset, -1 when none.
	Committed int64 `json:"committed_offset"`
	// Current is where the group reads from now: its committed offset,
	// or the log start when it committed nothing (or behind the start).
	Current     int64 `json:"current_offset"`
	Target      int64 `json:"target_offset"`
	StartOffset int64 `json:"start_offset"`
	EndOffset   int64 `json:"end_offset"`
	// Records is how many records the group processes again (the
	// target is behind the current offset); Skipped how many it will not
	// process (the target is ahead).
	Records int64 `json:"records"`
	Skipped int64 `json:"skipped"`
	// Keys is how many distinct record keys Records holds; a lower
	// bound when KeysLowerBound.
	Keys           int64 `json:"keys"`
	KeysLowerBound bool  `json:"keys_lower_bound"`
	// Member is the client id of the member that owns the partition,
	// empty when none does.
	Member string `json:"member,omitempty"`
	// Moved says the rewind committed the partition's target: every
	// partition not already at its target, once applied; only those that
	// moved before it gave up, when Admin.Rewind returns its error with
	// the plan. Not in the answer: an applied plan moved them all, and a
	// rewind that gave up answers an error naming what moved.
	Moved bool `json:"-"`
}

// RewindPlan is what a rewind does, per partition and in total. A dry run
// returns it unapplied.
type RewindPlan struct {
	Group      string            `json:"group"`
	Topic      string            `json:"topic"`
	To         string            `json:"to"`
	DryRun     bool              `json:"dry_run"`
	State      string            `json:"state"`
	Members    int               `json:"members"`
	Partitions []RewindPartition `json:"partitions"`
	// Records is the sum of the partitions' Records; Keys and Skipped
	// likewise.
	Records        int64 `json:"records"`
	Skipped        int64 `json:"skipped"`
	Keys           int64 `json:"keys"`
	KeysLowerBound bool  `json:"keys_lower_bound"`
	// Applied says the offsets moved; AppliedAt when, and Method how:
	// "commit" for a group without members, "members" for a running
	// group whose members moved their own partitions.
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
	Method    string     `json:"method,omitempty"`
}

// MovedPartitions are the partitions the rewind moved (Moved).
func (p RewindPlan) MovedPartitions() []int32 {
	var out []int32
	for _, rp := range p.Partitions {
		if rp.Moved {
			out = append(out, rp.Partition)
		}
	}
	return out
}

// JoinPartitions writes partitions as text, sep between them.
func JoinPartitions(ps []int32, sep string) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, sep)
}

// UnmovedPartitions are the partitions the rewind had to move (not at
// their target) and did not: all of them before it is applied, some when
// it gave up part way.
func (p RewindPlan) UnmovedPartitions() []int32 {
	var out []int32
	for _, rp := range p.Partitions {
		if !rp.Moved && rp.Target != rp.Committed {
			out = append(out, rp.Partition)
		}
	}
	return out
}

// PlanRewind works out a rewind without applying it: the current and
// target offsets per partition, the records to process again and the
// distinct keys among them (bounded by KeyScanLimit). It refuses an
// unknown group, a target outside the retained log, a time in the future
// and partitions the topic does not have.
func (a *Admin) PlanRewind(ctx context.Context, req RewindRequest) (RewindPlan, error) {
	plan, err := a.planOffsets(ctx, req, time.Now())
	if err != nil {
		return RewindPlan{}, err
	}
	plan.DryRun = true
	if req.KeyScanLimit >= 0 {
		limit := req.KeyScanLimit
		if limit == 0 {
			limit = DefaultKeyScanLimit
		}
		if err := a.countKeys(ctx, &plan, limit); err != nil {
			return RewindPlan{}, err
		}
	}
	return plan, nil
}

// planOffsets works out the offsets of a rewind, with no key count.
func (a *Admin) planOffsets(ctx context.Context, req RewindRequest, now time.Time) (RewindPlan, error) {
	if req.Group == "" {
		return RewindPlan{}, refuse("consumer group: required")
	}
	if req.To.Kind == ToTime && req.To.Time.After(now) {
		return RewindPlan{}, refuse("to: %s is in the future (now is %s)", req.To.Time.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	lag, err := a.GroupLag(ctx, req.Group, req.Topic)
	if errors.Is(err, ErrTopicNotFound) {
		return RewindPlan{}, &RewindError{NotFound: true, Msg: fmt.Sprintf("topic %s does not exist", req.Topic)}
	}
	if err != nil {
		return RewindPlan{}, err
	}
	committedAny := false
	for _, p := range lag.Partitions {
		committedAny = committedAny || p.CommittedOffset >= 0
	}
	if len(lag.Members) == 0 && !committedAny {
		return RewindPlan{}, &RewindError{NotFound: true, Msg: fmt.Sprintf(
			"consumer group %s is unknown: it has no members and no committed offsets on %s", req.Group, req.Topic)}
	}
	chosen, err := choosePartitions(req, lag.Partitions)
	if err != nil {
		return RewindPlan{}, err
	}
	var byTime kadm.ListedOffsets
	if req.To.Kind == ToTime {
		byTime, err = a.adm.ListOffsetsAfterMilli(ctx, req.To.Time.UnixMilli(), req.Topic)
		if err == nil {
			err = byTime.Error()
		}
		if err != nil {
			return RewindPlan{}, fmt.Errorf("list offsets of %s at %s: %w", req.Topic, req.To.Time.Format(time.RFC3339), err)
		}
	}
	plan := RewindPlan{Group: req.Group, Topic: req.Topic, To: req.To.String(), State: lag.State,
		Members: len(lag.Members), Partitions: []RewindPartition{}}
	for _, l := range lag.Partitions {
		if !chosen[l.Partition] {
			continue
		}
		rp := RewindPartition{Partition: l.Partition, Committed: l.CommittedOffset, StartOffset: l.start,
			EndOffset: l.EndOffset, Member: l.Member}
		rp.Current = max(l.CommittedOffset, l.start)
		switch req.To.Kind {
		case ToEarliest:
			rp.Target = l.start
		case ToLatest:
			rp.Target = l.EndOffset
		case ToOffset:
			rp.Target = req.To.Offset
			if req.To.Offsets != nil {
				rp.Target = req.To.Offsets[l.Partition]
			}
			if rp.Target < l.start {
				return RewindPlan{}, refuse("to: offset %d of partition %d is outside the retained log: it starts at offset %d", rp.Target, l.Partition, l.start)
			}
			if rp.Target > l.EndOffset {
				return RewindPlan{}, refuse("to: offset %d of partition %d is past the log end, offset %d", rp.Target, l.Partition, l.EndOffset)
			}
		case ToTime:
			o, ok := byTime.Lookup(req.Topic, l.Partition)
			if !ok || o.Err != nil {
				return RewindPlan{}, fmt.Errorf("no offset of partition %d at %s", l.Partition, req.To.Time.Format(time.RFC3339))
			}
			rp.Target = o.Offset
			// The first retained record is at or after the time, and
			// records were deleted before it: some of those deleted may
			// have been after the time too, and cannot be read again.
			if o.Offset == l.start && l.start > 0 && o.Timestamp > req.To.Time.UnixMilli() {
				return RewindPlan{}, refuse("to: %s is outside the retained log: partition %d starts at offset %d, written at %s, and older records were deleted",
					req.To.Time.UTC().Format(time.RFC3339), l.Partition, l.start, time.UnixMilli(o.Timestamp).UTC().Format(time.RFC3339))
			}
		}
		rp.Records = max(0, rp.Current-rp.Target)
		rp.Skipped = max(0, rp.Target-rp.Current)
		plan.Records += rp.Records
		plan.Skipped += rp.Skipped
		plan.Partitions = append(plan.Partitions, rp)
	}
	return plan, nil
}

// choosePartitions checks the partitions asked for against the topic's.
func choosePartitions(req RewindRequest, parts []PartitionLag) (map[int32]bool, error) {
	exists := make(map[int32]bool, len(parts))
	for _, p := range parts {
		exists[p.Partition] = true
	}
	asked := req.Partitions
	if req.To.Offsets != nil {
		if len(asked) > 0 {
			return nil, refuse("partitions: not with offset:P=N, which names the partitions itself")
		}
		for p := range req.To.Offsets {
			asked = append(asked, p)
		}
	}
	if len(asked) == 0 {
		return exists, nil
	}
	chosen := make(map[int32]bool, len(asked))
	for _, p := range asked {
		if !exists[p] {
			return nil, refuse("partitions: %s has no partition %d (it has %d, numbered from 0)", req.Topic, p, len(parts))
		}
		if chosen[p] {
			return nil, refuse("partitions: partition %d is given twice", p)
		}
		chosen[p] = true
	}
	return chosen, nil
}
