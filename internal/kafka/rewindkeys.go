package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// countKeys reads the records a rewind processes again and counts their
// distinct keys, per partition and in total. It reads at most limit
// records and for at most keyScanWait: past either, the counts are lower
// bounds and say so. A record without a key counts under the key the
// pipeline orders it by, user_id:event_type.
func (a *Admin) countKeys(ctx context.Context, plan *RewindPlan, limit int) error {
	starts := make(map[int32]kgo.Offset)
	left := make(map[int32]*RewindPartition)
	for i := range plan.Partitions {
		rp := &plan.Partitions[i]
		if rp.Records > 0 {
			starts[rp.Partition] = kgo.NewOffset().At(rp.Target)
			left[rp.Partition] = rp
		}
	}
	if len(starts) == 0 {
		return nil
	}
	opts := append(append([]kgo.Opt(nil), a.opts...),
		kgo.ClientID("pulse-rewind-plan"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{plan.Topic: starts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Markers come through so a range ending in one is seen to end.
		kgo.KeepControlRecords(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("count keys to process again: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, keyScanWait)
	defer cancel()
	all := make(map[string]struct{})
	per := make(map[int32]map[string]struct{}, len(left))
	read := 0
	for len(left) > 0 && read < limit && ctx.Err() == nil {
		fs := cl.PollRecords(ctx, limit-read)
		fs.EachRecord(func(r *kgo.Record) {
			rp := left[r.Partition]
			if rp == nil || r.Offset >= rp.Current {
				return
			}
			if r.Offset == rp.Current-1 {
				defer delete(left, r.Partition)
			}
			if r.Attrs.IsControl() {
				return
			}
			read++
			k := recordKey(r)
			if per[r.Partition] == nil {
				per[r.Partition] = make(map[string]struct{})
			}
			per[r.Partition][k] = struct{}{}
			all[k] = struct{}{}
		})
	}
	for i := range plan.Partitions {
		rp := &plan.Partitions[i]
		rp.Keys = int64(len(per[rp.Partition]))
		_, unfinished := left[rp.Partition]
		rp.KeysLowerBound = unfinished
		plan.KeysLowerBound = plan.KeysLowerBound || unfinished
	}
	plan.Keys = int64(len(all))
	return nil
}

// recordKey is the key the pipeline orders r by.
func recordKey(r *kgo.Record) string {
	if len(r.Key) > 0 {
		return string(r.Key)
	}
	var e struct {
		UserID    string `json:"user_id"`
		EventType string `json:"event_type"`
	}
	if json.Unmarshal(r.Value, &e) != nil {
		return ""
	}
	return e.UserID + ":" + e.EventType
}

// waitFor polls cond every few milliseconds until it holds or ctx ends.
func waitFor(ctx context.Context, every time.Duration, cond func() bool) bool {
	t := time.NewTicker(every)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}
