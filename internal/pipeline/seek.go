package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
)

// An operator's rewind of the running group (kafka.Admin.Rewind) reaches
// the members on the control topic record.RewindTopic: Kafka accepts an
// offset commit for a group with members only from a member of its
// current generation, so each member moves the partitions it owns
// itself. It handles them as a revoke would (in-flight records
// abandoned, finished ones written, the DLQ transaction settled), then
// seeks them to the targets, commits the targets and acknowledges. The
// records from the target on are fetched and processed again; the store
// keeps one row per event id.

// seek is one partition's part of a rewind request.
type seek struct {
	id     string
	target int64
}

// rewoundParts are the partitions a rewind moved here, until its
// deadline.
type rewoundParts struct {
	deadline time.Time
	offsets  map[int32]int64
}

// startRewindWatch creates the client that reads rewind requests from
// the end of the control topic.
func (c *Consumer) startRewindWatch() error {
	opts := append(append([]kgo.Opt{}, c.cfg.ClientOpts...),
		kgo.SeedBrokers(c.cfg.Brokers...),
		kgo.ClientID(c.cfg.ConsumerID),
		kgo.ConsumeTopics(record.RewindTopic(c.cfg.Topic)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.ProducerLinger(0),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("rewind watch client: %w", err)
	}
	c.ctl = cl
	return nil
}

// watchRewinds hands the rewind requests for this member's group to the
// poll loop until ctx ends.
func (c *Consumer) watchRewinds(ctx context.Context) {
	for ctx.Err() == nil {
		fs := c.ctl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return
		}
		fs.EachRecord(func(r *kgo.Record) {
			req, _, err := record.ParseRewind(r)
			if err != nil || req == nil {
				return // an acknowledgement, or not ours to read
			}
			if req.Group != c.cfg.Group || req.Topic != c.cfg.Topic {
				return
			}
			c.requestSeeks(req)
		})
	}
}

// requestSeeks queues the partitions of req this member owns for the
// poll loop and cuts its poll short. A partition this member moved for
// req already is acknowledged again, not moved twice.
func (c *Consumer) requestSeeks(req *record.RewindRequest) {
	now := time.Now()
	if now.After(req.Deadline) {
		return
	}
	var again []record.RewindAck
	c.mu.Lock()
	for id, rp := range c.rewound {
		if now.After(rp.deadline) {
			delete(c.rewound, id)
		}
	}
	queued := 0
	for p, off := range req.Offsets {
		if c.parts[p] == nil {
			continue
		}
		if rp := c.rewound[req.ID]; rp != nil {
			if o, done := rp.offsets[p]; done {
				again = append(again, record.RewindAck{ID: req.ID, Group: req.Group, Member: c.cfg.ConsumerID, Partition: p, Offset: o})
				continue
			}
		}
		c.seeks[p] = seek{id: req.ID, target: off}
		queued++
	}
	if queued > 0 {
		if c.rewound[req.ID] == nil {
			c.rewound[req.ID] = &rewoundParts{deadline: req.Deadline, offsets: make(map[int32]int64)}
		}
		if c.pollCancel != nil {
			c.pollCancel()
		}
	}
	c.mu.Unlock()
	if queued > 0 {
		c.log.Info("rewind requested", "rewind_id", req.ID, "partitions", queued)
		c.signalSpace()
	}
	c.ack(again)
}

// doSeeks moves the partitions of the rewinds requested: called by the
// poll loop between polls, where no rebalance runs, so the partitions
// stay this member's throughout.
func (c *Consumer) doSeeks(cl *kgo.Client) {
	c.mu.Lock()
	if len(c.seeks) == 0 {
		c.mu.Unlock()
		return
	}
	seeks := c.seeks
	c.seeks = make(map[int32]seek)
	ps := slices.Sorted(maps.Keys(seeks))
	c.mu.Unlock()
	ctx := context.Background()

	// As a revoke: dead letters already sent are answered, the records
	// in flight abandoned (their retry states kept first), the finished
	// ones written and committed, and the DLQ transaction, which would
	// commit these partitions' old offsets, ended.
	c.waitProduces(ctx, c.cfg.DrainTimeout)
	carried := make(map[int32]map[int64]store.Retry, len(ps))
	c.mu.Lock()
	for _, p := range ps {
		if st := c.parts[p]; st != nil {
			carried[p] = c.carryRetries(st)
			c.abandon(st)
		}
	}
	c.mu.Unlock()
	c.flush(ctx, c.cfg.DrainTimeout)
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	if err := c.commit(cctx, cl); err != nil {
		c.log.Warn("commit before a rewind", "err", err)
	}
	cancel()
	c.settleTxn(ctx, cl, c.cfg.DrainTimeout)
	// The retry log is cut at the targets below: the states queued for
	// these records land first, or a late save would bring one back.
	c.flushSaves(ctx, c.cfg.DrainTimeout)

	// Held across the reset and the commit of the targets, so that a
	// periodic commit computed before cannot land after.
	c.commitMu.Lock()
	c.mu.Lock()
	sets := make(map[int32]kgo.EpochOffset, len(seeks))
	olds := make(map[int32]*partState, len(seeks))
	back := make(map[int32]int64, len(seeks)) // where a partition not moved starts again
	wasCommitted := make(map[int32]int64, len(seeks))
	for _, p := range ps {
		old := c.parts[p]
		if old == nil {
			continue // lost meanwhile: the new owner was asked too
		}
		if o, ok := c.committed[p]; ok {
			back[p] = o
			wasCommitted[p] = o
		} else if old.first >= 0 {
			back[p] = old.first
		}
		old.gone = true
		c.inFlight -= old.unfinished
		c.parts[p] = newPartState(p)
		olds[p] = old
		delete(c.rewind, p)
		delete(c.committed, p)
		sets[p] = kgo.EpochOffset{Epoch: -1, Offset: seeks[p].target}
	}
	c.m.inFlight.Set(float64(c.inFlight))
	c.mu.Unlock()
	var cerr error
	errs := make(map[int32]error)
	if len(sets) > 0 {
		// The fetch positions move only once the targets are committed:
		// a partition whose commit fails reads on from where it was.
		cctx, cancel := context.WithTimeout(ctx, commitTimeout)
		cl.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{c.cfg.Topic: sets},
			func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
				if err != nil {
					cerr = err
					return
				}
				for _, t := range resp.Topics {
					for _, p := range t.Partitions {
						if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
							errs[p.Partition] = err
						}
					}
				}
			})
		cancel()
	}
	positions := make(map[int32]kgo.EpochOffset, len(sets))
	var moved, notMoved []int32
	for _, p := range ps {
		if _, set := sets[p]; !set {
			continue
		}
		if cmpErr(cerr, errs[p]) == nil {
			moved = append(moved, p)
			positions[p] = sets[p]
		} else if o, ok := back[p]; ok {
			notMoved = append(notMoved, p)
			positions[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
		} else {
			notMoved = append(notMoved, p) // nothing fetched: its position is still the committed offset
		}
	}
	now := time.Now()
	var acks []record.RewindAck
	c.mu.Lock()
	for _, p := range moved {
		if c.parts[p] != nil {
			c.committed[p] = seeks[p].target
		}
		if rp := c.rewound[seeks[p].id]; rp != nil {
			rp.offsets[p] = seeks[p].target
		}
	}
	for _, p := range notMoved {
		// As after an aborted DLQ transaction (doRewinds): the
		// partition starts again from its committed offset, its
		// retries going on and its stored records settled unprocessed.
		if ns, old := c.parts[p], olds[p]; ns != nil {
			ns.resume = carried[p]
			ns.settled = old.settled
			ns.storedUntil = max(old.storedUntil, old.next)
			// Only a commit the broker refused by partition is known
			// not to have landed; one whose request failed (a timeout)
			// may have, so the next commit says the offset again.
			if o, ok := wasCommitted[p]; ok && cerr == nil {
				c.committed[p] = o
			}
		}
	}
	for _, p := range ps {
		s := seeks[p]
		a := record.RewindAck{ID: s.id, Group: c.cfg.Group, Member: c.cfg.ConsumerID, Partition: p, Offset: s.target}
		_, set := sets[p]
		switch err := cmpErr(cerr, errs[p]); {
		case !set:
			a.Error = "partition no longer owned"
		case err != nil:
			a.Error = "commit: " + err.Error()
		}
		acks = append(acks, a)
	}
	if len(moved) > 0 {
		c.lastCommit = now
	}
	c.mu.Unlock()
	if len(positions) > 0 {
		cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{c.cfg.Topic: positions})
	}
	c.commitMu.Unlock()
	// The retry log is read after the commit lock is let go (periodic
	// commits go on meanwhile), and before the poll loop, which called
	// doSeeks, fetches a record of these partitions.
	resume := c.rewoundRetries(ctx, moved, seeks, carried)
	c.mu.Lock()
	for _, p := range moved {
		if ns := c.parts[p]; ns != nil {
			ns.resume = resume[p]
		}
	}
	c.mu.Unlock()
	if len(notMoved) > 0 {
		c.log.Warn("partitions not rewound: their commit failed; they start again from their committed offsets",
			"partitions", notMoved, "err", cmpErr(cerr, errs[notMoved[0]]))
	}
	if len(moved) > 0 {
		c.m.rewinds.Add(float64(len(moved)))
		// Records between the target and the old offset may have a
		// dead letter already: they are not dead-lettered again.
		c.markSettledDeadLetters(ctx, cl, moved)
		c.log.Info("partitions rewound", "offsets", sets)
	}
	c.ack(acks)
}

// rewoundRetries returns, by partition moved, the retry states its
// records resume from: those at or above the target, kept in memory
// (carried) or in the retry log. The log's states below the target are
// deleted: a forward rewind skips their records, a backward one gives
// only records the group had finished. Without a retry log, the states
// carried; a failed read logs and keeps them.
func (c *Consumer) rewoundRetries(ctx context.Context, moved []int32, seeks map[int32]seek, carried map[int32]map[int64]store.Retry) map[int32]map[int64]store.Retry {
	out := make(map[int32]map[int64]store.Retry, len(moved))
	for _, p := range moved {
		target := seeks[p].target
		m := make(map[int64]store.Retry)
		if c.retryLog != nil {
			rctx, cancel := context.WithTimeout(ctx, retryLoadWait)
			rs, err := c.retryLog.PendingRetries(rctx, c.cfg.Topic, p, target)
			cancel()
			if err != nil {
				c.log.Warn("could not cut the retry log at a rewind's target; states of records below it stay until the next assignment",
					"partition", p, "target", target, "err", err)
			}
			for _, s := range rs {
				m[s.Offset] = s
			}
		}
		for off, s := range carried[p] {
			if off >= target {
				m[off] = s
			}
		}
		if len(m) > 0 {
			out[p] = m
		}
	}
	return out
}

func cmpErr(errs ...error) error { return errors.Join(errs...) }

// ack writes acknowledgements to the control topic, without waiting.
func (c *Consumer) ack(acks []record.RewindAck) {
	for _, a := range acks {
		r, err := record.RewindAckRecord(c.cfg.Topic, a)
		if err != nil {
			c.log.Warn("encode rewind ack", "err", err)
			continue
		}
		c.ctl.Produce(c.prodCtx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				c.log.Warn("acknowledge a rewind", "rewind_id", a.ID, "partition", a.Partition, "err", err)
			}
		})
	}
}
