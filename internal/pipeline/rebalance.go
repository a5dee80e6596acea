package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// onAssigned starts tracking newly assigned partitions and learns which
// of their records already have a committed dead letter.
func (c *Consumer) onAssigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	ps := assigned[c.cfg.Topic]
	if len(ps) == 0 {
		return
	}
	c.m.assigned.Inc()
	c.mu.Lock()
	for _, p := range ps {
		if c.parts[p] == nil {
			c.parts[p] = newPartState(p)
		}
	}
	c.mu.Unlock()
	c.log.Info("partitions assigned", "partitions", ps)
	c.markSettledDeadLetters(ctx, cl, ps)
	c.loadRetries(ctx, cl, ps)
}

// onRevoked stops handling the revoked partitions, flushes the writer and
// commits their watermark synchronously before the new owner starts.
// Records still in flight there are abandoned: the new owner gets them
// again, and the idempotent store settles any it already holds.
func (c *Consumer) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	ps := revoked[c.cfg.Topic]
	abandoned := 0
	if len(ps) > 0 {
		c.m.revoked.Inc()
		// Dead letters already sent belong to the open transaction:
		// let them be answered rather than abandon them.
		c.waitProduces(ctx, c.cfg.DrainTimeout)
		c.mu.Lock()
		for _, p := range ps {
			if st := c.parts[p]; st != nil {
				abandoned += c.abandon(st)
			}
		}
		c.mu.Unlock()
		c.flush(ctx, c.cfg.DrainTimeout)
		// The new owner resumes the abandoned retries from their saved
		// states: let the saves queued land first.
		c.flushSaves(ctx, c.cfg.DrainTimeout)
	}
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	err := c.commit(cctx, cl)
	cancel()
	// The open DLQ transaction commits these partitions' offsets too:
	// end it before they go, committed or aborted.
	c.settleTxn(ctx, cl, c.cfg.DrainTimeout)
	if len(ps) == 0 {
		return
	}
	c.mu.Lock()
	committed := make(map[int32]int64, len(ps))
	for _, p := range ps {
		if o, ok := c.committed[p]; ok {
			committed[p] = o
		}
		c.remove(p)
	}
	c.mu.Unlock()
	c.signalSpace()
	if err != nil {
		c.log.Warn("partitions revoked; commit failed", "partitions", ps, "abandoned", abandoned, "err", err)
		return
	}
	c.log.Info("partitions revoked", "partitions", ps, "committed", committed, "abandoned", abandoned)
}

// onLost drops the lost partitions without committing: another member may
// already own them.
func (c *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	ps := lost[c.cfg.Topic]
	if len(ps) == 0 {
		return
	}
	c.m.lost.Inc()
	abandoned := 0
	c.mu.Lock()
	for _, p := range ps {
		if st := c.parts[p]; st != nil {
			abandoned += c.abandon(st)
			c.remove(p)
		}
	}
	c.mu.Unlock()
	c.signalSpace()
	c.log.Warn("partitions lost", "partitions", ps, "abandoned", abandoned)
}

// remove forgets partition p; late completions of its records change
// nothing. Called with mu held.
func (c *Consumer) remove(p int32) {
	ps := c.parts[p]
	if ps == nil {
		return
	}
	ps.gone = true
	c.inFlight -= ps.unfinished
	delete(c.parts, p)
	delete(c.committed, p)
	delete(c.rewind, p)
	c.m.inFlight.Set(float64(c.inFlight))
}

// commitLoop commits changed watermarks every CommitInterval.
func (c *Consumer) commitLoop(ctx context.Context) {
	t := time.NewTimer(c.cfg.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, commitTimeout)
		err := c.commit(cctx, c.cl)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.log.Warn("commit offsets", "err", err)
		}
		// A closing DLQ transaction waits only for the writer: try again
		// soon, as later dead letters wait for it to end.
		c.mu.Lock()
		closing := c.txn.closing
		c.mu.Unlock()
		if closing {
			t.Reset(min(c.cfg.CommitInterval, 10*time.Millisecond))
		} else {
			t.Reset(c.cfg.CommitInterval)
		}
	}
}

// commit commits, synchronously, the watermark of every owned partition
// that moved since its last commit. While a DLQ transaction is open, the
// partitions with a dead letter in it are committed only by it, once it
// covers them all (see txn.go); the others are committed as usual.
func (c *Consumer) commit(ctx context.Context, cl *kgo.Client) error {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	offsets := make(map[int32]kgo.EpochOffset)
	c.mu.Lock()
	active, covered, orphaned := c.txnState()
	for p, ps := range c.parts {
		if c.rewind[p] {
			continue
		}
		off, epoch, ok := ps.watermark()
		if !ok {
			continue
		}
		// A partition with a dead letter in the transaction is
		// committed by it; only up to its lowest dead letter (not past
		// it) may it be committed as usual, as an abort then leaves the
		// dead letters' records to be processed again.
		low, inTxn := c.txn.low[p]
		inTxn = inTxn && off > low
		if active && inTxn && !covered {
			continue
		}
		if last, done := c.committed[p]; done && last == off && !(active && inTxn) {
			continue
		}
		offsets[p] = kgo.EpochOffset{Epoch: epoch, Offset: off}
	}
	if active && !covered {
		c.txn.closing = true
	}
	lost := c.txn.lost
	c.mu.Unlock()
	if orphaned {
		// A partition of the transaction is gone (lost): it can never
		// commit.
		c.abortTxn(ctx, cl, errors.New("a partition with dead letters in the transaction was lost"))
		return nil
	}
	if lost != nil {
		c.abortTxn(ctx, cl, fmt.Errorf("a dead letter's produce found the transaction gone: %w", lost))
		return nil
	}
	if active && covered {
		return c.commitTxn(ctx, cl, offsets)
	}
	if len(offsets) == 0 {
		return nil
	}
	var cerr error
	ok := make(map[int32]int64, len(offsets))
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.cfg.Topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				cerr = err
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						cerr = errors.Join(cerr, fmt.Errorf("partition %d: %w", p.Partition, err))
						continue
					}
					if eo, found := offsets[p.Partition]; found {
						ok[p.Partition] = eo.Offset
					}
				}
			}
		})
	now := time.Now()
	c.mu.Lock()
	for p, off := range ok {
		if ps := c.parts[p]; ps != nil {
			c.committed[p] = off
		}
	}
	if len(ok) > 0 {
		c.lastCommit = now
	}
	c.mu.Unlock()
	if cerr != nil {
		c.m.commitsErr.Inc()
		return fmt.Errorf("commit offsets %v: %w", offsets, cerr)
	}
	c.m.commitsOK.Inc()
	return nil
}
