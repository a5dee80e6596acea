package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulse-dev/pulse/internal/record"
)

// Dead letters already committed for records the group has not committed
// past.
//
// The transaction that makes dead letters visible commits the group's
// offsets past their records in the same EndTxn, so on a broker that ends
// transactions atomically a record with a visible dead letter is never
// delivered again. The embedded broker (kfake) ends a transaction in
// steps: it writes the commit markers, then the group's offsets, each
// durably but not together. A crash between the two (a SIGKILL of serve
// under load found it: 30 of 2,200 failing events dead-lettered twice)
// leaves the dead letters visible and the offsets behind, and their
// records would be dead-lettered again.
//
// So when partitions are assigned, the member reads the dead letters
// committed since the oldest record it will be given, and a record whose
// dead letter is among them finishes as dead-lettered without another
// produce. The read is bounded by the dead letters written since that
// record (normally a commit interval's worth), and skipped when the group
// has committed every partition to its end. A read that fails or takes
// too long is logged and the member goes on: a record may then be
// dead-lettered twice, never lost.

// settledScanWait bounds the whole read at assignment.
const settledScanWait = 5 * time.Second

// markSettledDeadLetters records, in each newly assigned partition's
// state, the source offsets that already have a committed dead letter.
func (c *Consumer) markSettledDeadLetters(ctx context.Context, cl *kgo.Client, parts []int32) {
	ctx, cancel := context.WithTimeout(ctx, settledScanWait)
	defer cancel()
	found, err := c.settledDeadLetters(ctx, cl, parts)
	if err != nil {
		c.log.Warn("could not read the dead letters already committed for the assigned partitions; a record whose offset commit the broker lost may be dead-lettered twice",
			"partitions", parts, "err", err)
	}
	if len(found) == 0 {
		return
	}
	n := 0
	c.mu.Lock()
	for p, offs := range found {
		if ps := c.parts[p]; ps != nil {
			ps.settled = offs
			n += len(offs)
		}
	}
	c.mu.Unlock()
	c.log.Warn("dead letters already committed for records the group had not committed past; they will not be sent again",
		"dead_letters", n, "partitions", parts)
}

// settledDeadLetters returns, by partition of parts, the source offsets at
// or past the group's committed offset that have a committed dead letter,
// with the event id it names.
func (c *Consumer) settledDeadLetters(ctx context.Context, cl *kgo.Client, parts []int32) (map[int32]map[int64]string, error) {
	adm := kadm.NewClient(cl)
	from, ends, err := c.uncommittedFrom(ctx, adm, parts)
	if err != nil || len(from) == 0 {
		return nil, err
	}
	oldest, err := c.oldestTimestamp(ctx, from, ends)
	if err != nil || oldest.IsZero() {
		return nil, err
	}
	// Every dead letter of these records was produced after the oldest
	// of them was.
	starts, err := adm.ListOffsetsAfterMilli(ctx, oldest.UnixMilli(), c.cfg.DLQTopic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list %s offsets after %s: %w", c.cfg.DLQTopic, oldest.Format(time.RFC3339Nano), err)
	}
	dlqEnds, err := adm.ListEndOffsets(ctx, c.cfg.DLQTopic)
	if err == nil {
		err = dlqEnds.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list %s end offsets: %w", c.cfg.DLQTopic, err)
	}
	read := map[int32]kgo.Offset{}
	until := map[int32]int64{}
	starts.Each(func(o kadm.ListedOffset) {
		if end, ok := dlqEnds.Lookup(o.Topic, o.Partition); ok && o.Offset >= 0 && o.Offset < end.Offset {
			read[o.Partition] = kgo.NewOffset().At(o.Offset)
			until[o.Partition] = end.Offset
		}
	})
	found := map[int32]map[int64]string{}
	err = c.readCommitted(ctx, c.cfg.DLQTopic, read, until, func(r *kgo.Record) bool {
		d := record.ParseDeadLetter(r)
		// The event id ties the dead letter to this record, not to an
		// earlier one at the same offset (a topic recreated, a log
		// replaced); a dead letter without one matches nothing.
		if low, ok := from[d.Partition]; ok && d.Topic == c.cfg.Topic && d.Offset >= low && d.EventID != "" {
			if found[d.Partition] == nil {
				found[d.Partition] = map[int64]string{}
			}
			found[d.Partition][d.Offset] = d.EventID
		}
		return true
	})
	return found, err
}

// uncommittedFrom returns, for each partition of parts with records past
// the group's committed offset, that offset (the log start when nothing
// is committed) and the partition's end.
func (c *Consumer) uncommittedFrom(ctx context.Context, adm *kadm.Client, parts []int32) (from, until map[int32]int64, err error) {
	committed, err := adm.FetchOffsets(ctx, c.cfg.Group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fetch the group's offsets: %w", err)
	}
	starts, err := adm.ListStartOffsets(ctx, c.cfg.Topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list %s start offsets: %w", c.cfg.Topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, c.cfg.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list %s end offsets: %w", c.cfg.Topic, err)
	}
	from, until = map[int32]int64{}, map[int32]int64{}
	for _, p := range parts {
		start, _ := starts.Lookup(c.cfg.Topic, p)
		end, _ := ends.Lookup(c.cfg.Topic, p)
		at := start.Offset
		if o, ok := committed.Lookup(c.cfg.Topic, p); ok && o.At > at {
			at = o.At
		}
		if at < end.Offset {
			from[p], until[p] = at, end.Offset
		}
	}
	return from, until, nil
}

// oldestTimestamp returns the oldest timestamp among the first records
// from each partition's offset in from up to its end in until; zero when
// there is none (only markers or aborted records).
func (c *Consumer) oldestTimestamp(ctx context.Context, from, until map[int32]int64) (time.Time, error) {
	read := make(map[int32]kgo.Offset, len(from))
	for p, o := range from {
		read[p] = kgo.NewOffset().At(o)
	}
	var oldest time.Time
	err := c.readCommitted(ctx, c.cfg.Topic, read, until, func(r *kgo.Record) bool {
		if oldest.IsZero() || r.Timestamp.Before(oldest) {
			oldest = r.Timestamp
		}
		return false // the first record is enough
	})
	return oldest, err
}

// readCommitted reads topic from each partition's offset in from up to
// its offset in until, calling each for the records a read_committed
// consumer would see, in order, until each returns false.
//
// It reads uncommitted and decides itself: a transaction's records are
// held until its commit marker, dropped at an abort marker, and never
// shown when no marker follows (one open, or one the embedded broker
// aborted after a crash, which leaves no marker). A read_committed fetch
// skips such records without a trace, so it could not tell the end of
// the log from a wait.
func (c *Consumer) readCommitted(ctx context.Context, topic string, from map[int32]kgo.Offset, until map[int32]int64, each func(*kgo.Record) bool) error {
	if len(from) == 0 {
		return nil
	}
	opts := append(append([]kgo.Opt(nil), c.cfg.ClientOpts...),
		kgo.SeedBrokers(c.cfg.Brokers...),
		kgo.ClientID("pulse-dlq-reader"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(200*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("read %s: %w", topic, err)
	}
	defer cl.Close()
	type txnKey struct {
		p   int32
		pid int64
	}
	held := map[txnKey][]*kgo.Record{}
	left := len(from)
	done := map[int32]bool{}
	show := func(r *kgo.Record) {
		if !done[r.Partition] && !each(r) {
			done[r.Partition] = true
			left--
		}
	}
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("read %s: %w", topic, ctx.Err())
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			ferr = errors.Join(ferr, fmt.Errorf("read %s/%d: %w", t, p, err))
		})
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			if done[r.Partition] || r.Offset >= until[r.Partition] {
				return
			}
			k := txnKey{r.Partition, r.ProducerID}
			switch {
			case r.Attrs.IsControl():
				var key kmsg.ControlRecordKey
				if key.ReadFrom(r.Key) == nil && key.Type == kmsg.ControlRecordKeyTypeCommit {
					for _, h := range held[k] {
						show(h)
					}
				}
				delete(held, k)
			case r.Attrs.IsTransactional():
				held[k] = append(held[k], r)
			default:
				show(r)
			}
			if !done[r.Partition] && r.Offset+1 >= until[r.Partition] {
				done[r.Partition] = true
				left--
			}
		})
	}
	return nil
}
