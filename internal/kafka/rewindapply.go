package kafka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/record"
)

// DefaultRewindWait bounds how long a rewind of a running group waits for
// its members to move their partitions.
const DefaultRewindWait = 20 * time.Second

// rewindResend is how long a rewind waits for acknowledgements before
// asking again for the partitions not moved yet (a partition changing
// owner in a rebalance misses the first request).
const rewindResend = 3 * time.Second

// Rewind plans req and applies it. A group without members has its
// offsets committed directly. A running group cannot be committed to from
// outside (Kafka accepts commits only from members of its current
// generation), so the rewind is asked of its members on the control
// topic record.RewindTopic: each Pulse member pauses the partitions it
// owns, seeks them to the targets, commits with its generation and
// acknowledges; partitions not acknowledged are asked again, until wait
// (DefaultRewindWait when 0) has passed. A partition no member moved in
// time makes a RewindError naming the partitions moved and not moved.
//
// A rewind refused before anything moves returns an empty plan. One that
// fails while applying returns its plan with the error, Applied false and
// Moved set on the partitions that did move before it gave up: their
// records will be processed again, and the caller marks and records them.
func (a *Admin) Rewind(ctx context.Context, req RewindRequest, wait time.Duration) (RewindPlan, error) {
	if wait <= 0 {
		wait = DefaultRewindWait
	}
	plan, err := a.PlanRewind(ctx, req)
	if err != nil {
		return RewindPlan{}, err
	}
	plan.DryRun = false
	offsets := make(map[int32]int64)
	for _, p := range plan.Partitions {
		if p.Target != p.Committed {
			offsets[p.Partition] = p.Target
		}
	}
	moved := make(map[int32]string)
	if len(offsets) > 0 {
		if plan.Members == 0 {
			plan.Method = "commit"
			// One commit request: it moves every partition or none.
			if err = a.commitEmpty(ctx, plan.Group, plan.Topic, offsets); err == nil {
				for p := range offsets {
					moved[p] = ""
				}
			}
		} else {
			plan.Method = "members"
			moved, err = a.rewindMembers(ctx, plan.Group, plan.Topic, offsets, wait)
		}
	}
	for i := range plan.Partitions {
		_, plan.Partitions[i].Moved = moved[plan.Partitions[i].Partition]
	}
	if err != nil {
		if len(moved) > 0 {
			a.log.Warn("consumer group rewound in part", "group", plan.Group, "topic", plan.Topic, "to", plan.To,
				"moved", plan.MovedPartitions(), "not_moved", plan.UnmovedPartitions(), "err", err)
		}
		return plan, err
	}
	now := time.Now().UTC()
	plan.Applied, plan.AppliedAt = true, &now
	a.log.Info("consumer group rewound", "group", plan.Group, "topic", plan.Topic, "to", plan.To,
		"offsets", offsets, "records", plan.Records, "method", plan.Method)
	return plan, nil
}

// commitEmpty commits offsets for a group without members.
func (a *Admin) commitEmpty(ctx context.Context, group, topic string, offsets map[int32]int64) error {
	var os kadm.Offsets
	for p, o := range offsets {
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	resp, err := a.adm.CommitOffsets(ctx, group, os)
	if err == nil {
		err = resp.Error()
	}
	switch {
	case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.RebalanceInProgress):
		return &RewindError{Conflict: true, Msg: fmt.Sprintf(
			"consumer group %s gained members while the rewind was committed, and refused it: try again", group)}
	case err != nil:
		return fmt.Errorf("commit offsets of group %s: %w", group, err)
	}
	return nil
}

// rewindMembers asks the members of a running group to move offsets and
// waits for their acknowledgements. It returns the partitions moved, each
// with the member that moved it, whether or not it gives up on others.
func (a *Admin) rewindMembers(ctx context.Context, group, topic string, offsets map[int32]int64, wait time.Duration) (map[int32]string, error) {
	ctrl := record.RewindTopic(topic)
	ends, err := a.adm.ListEndOffsets(ctx, ctrl)
	if err == nil {
		err = ends.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil, &RewindError{Conflict: true, Msg: fmt.Sprintf(
			"consumer group %s has members and no Pulse consumer watches for rewinds on this cluster (topic %s is missing): stop the group's consumers and rewind the empty group",
			group, ctrl)}
	}
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", ctrl, err)
	}
	from := make(map[int32]kgo.Offset)
	ends.Each(func(o kadm.ListedOffset) { from[o.Partition] = kgo.NewOffset().At(o.Offset) })
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), a.opts...),
		kgo.ClientID("pulse-rewind"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{ctrl: from}),
		kgo.FetchMaxWait(100*time.Millisecond),
	)...)
	if err != nil {
		return nil, fmt.Errorf("rewind client: %w", err)
	}
	defer cl.Close()

	var idb [12]byte
	_, _ = rand.Read(idb[:])
	now := time.Now().UTC()
	req := record.RewindRequest{ID: hex.EncodeToString(idb[:]), Group: group, Topic: topic, At: now, Deadline: now.Add(wait)}
	parent := ctx
	ctx, cancel := context.WithDeadline(ctx, req.Deadline)
	defer cancel()

	var mu sync.Mutex
	moved := make(map[int32]string)  // partition to the member that moved it
	failed := make(map[int32]string) // partition to its member's last error
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() {
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				_, ack, err := record.ParseRewind(r)
				if err != nil || ack == nil || ack.ID != req.ID || ack.Group != group {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if ack.Error != "" {
					failed[ack.Partition] = ack.Member + ": " + ack.Error
					return
				}
				if want, ok := offsets[ack.Partition]; ok && want == ack.Offset {
					moved[ack.Partition] = ack.Member
				}
			})
		}
	})
	remaining := func() map[int32]int64 {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[int32]int64)
		for p, o := range offsets {
			if _, ok := moved[p]; !ok {
				out[p] = o
			}
		}
		return out
	}
	movedSoFar := func() map[int32]string {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(moved)
	}
	for {
		left := remaining()
		if len(left) == 0 {
			return movedSoFar(), nil
		}
		req.Offsets = left
		kr, err := record.RewindRequestRecord(req)
		if err != nil {
			return movedSoFar(), err
		}
		if err := cl.ProduceSync(ctx, kr).FirstErr(); err != nil {
			if ctx.Err() != nil {
				break
			}
			return movedSoFar(), fmt.Errorf("ask group %s to rewind on %s: %w", group, ctrl, err)
		}
		rctx, rcancel := context.WithTimeout(ctx, rewindResend)
		waitFor(rctx, 20*time.Millisecond, func() bool { return len(remaining()) == 0 })
		rcancel()
		if ctx.Err() != nil {
			break
		}
	}
	left := remaining()
	if len(left) == 0 {
		return movedSoFar(), nil
	}
	mu.Lock()
	defer mu.Unlock()
	done := maps.Clone(moved)
	var notMoved, doneText []string
	for _, p := range slices.Sorted(maps.Keys(left)) {
		s := fmt.Sprint(p)
		if e, ok := failed[p]; ok {
			s += " (" + e + ")"
		}
		notMoved = append(notMoved, s)
	}
	for _, p := range slices.Sorted(maps.Keys(done)) {
		doneText = append(doneText, fmt.Sprintf("%d (by %s)", p, done[p]))
	}
	movedText := ""
	if len(doneText) > 0 {
		movedText = "; partitions moved: " + strings.Join(doneText, ", ")
	}
	if parent.Err() != nil {
		// Cut short by the caller, not by the members: say so rather
		// than blame members that had no time.
		return done, fmt.Errorf("consumer group %s: the rewind was cut short before partition %s moved%s: %w",
			group, strings.Join(notMoved, ", "), movedText, context.Cause(parent))
	}
	return done, &RewindError{Conflict: true, Msg: fmt.Sprintf(
		"consumer group %s: no member moved partition %s within %s (a member that is not a Pulse consumer cannot apply a rewind; stop it and try again)%s",
		group, strings.Join(notMoved, ", "), wait, movedText)}
}
