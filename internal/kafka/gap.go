package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Committed returns the group's committed offset of each partition of
// topic that has one.
func (a *Admin) Committed(ctx context.Context, group, topic string) (map[int32]int64, error) {
	lags, err := a.partitionLags(ctx, group, topic)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]int64)
	for p, l := range lags {
		if l.CommittedOffset >= 0 {
			out[p] = l.CommittedOffset
		}
	}
	return out, nil
}

// FirstRecords reads topic from each partition's offset in from, as a
// read-committed consumer would, and returns the offset of the first
// record found before the partition's end in until (control records and
// aborted transactions are no records). A partition with none before
// until is absent from the result. A from below the log start reads from
// the log start. wait bounds the whole read.
func (a *Admin) FirstRecords(ctx context.Context, topic string, from, until map[int32]int64, wait time.Duration) (map[int32]int64, error) {
	out := make(map[int32]int64)
	if len(from) == 0 {
		return out, nil
	}
	at := make(map[int32]kgo.Offset, len(from))
	for p, o := range from {
		at[p] = kgo.NewOffset().At(o)
	}
	opts := append(append([]kgo.Opt(nil), a.opts...),
		kgo.ClientID("pulse-admin-reader"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: at}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(200*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for len(out) < len(from) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			// The rest hold no record up to the end of the log.
			return out, nil
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = errors.Join(ferr, fmt.Errorf("read %s/%d: %w", t, p, err))
			}
		})
		if ferr != nil {
			return nil, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			if _, seen := out[r.Partition]; seen {
				return
			}
			if r.Offset < until[r.Partition] {
				out[r.Partition] = r.Offset
			} else {
				// The first record is past the range: none in it.
				out[r.Partition] = -1
			}
		})
	}
	for p, o := range out {
		if o < 0 {
			delete(out, p)
		}
	}
	return out, nil
}

// MoveGroupOffsets commits offsets for group on topic from outside the
// group, which Kafka accepts only while the group has no members.
func (a *Admin) MoveGroupOffsets(ctx context.Context, group, topic string, offsets map[int32]int64) error {
	var os kadm.Offsets
	for p, o := range offsets {
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1})
	}
	resp, err := a.adm.CommitOffsets(ctx, group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("move the offsets of group %s on %s (the group must have no running member): %w", group, topic, err)
	}
	return nil
}

// StableOffsets returns the last stable offset of each partition of
// topic: below it every transaction is decided (committed or aborted,
// its marker written), so a read-committed read up to it never waits on
// an open one.
func (a *Admin) StableOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	listed, err := a.adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list the stable offsets of %s: %w", topic, err)
	}
	out := make(map[int32]int64)
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}
