package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Dead letters are exactly once through crashes: each becomes visible to
// read_committed readers in the same Kafka transaction that commits the
// group's offset past its source record, and no other way.
//
// The member's DLQ producer, a client beside its group consumer, has a
// transactional id derived from the group and the consumer id
// (TransactionalID), so a restarted member fences and aborts whatever its
// predecessor left open. A transaction lost under a produce (the
// coordinator's timeout or a fence bumped the producer epoch: txnLost) is
// aborted like any other, and the producer, whose id franz-go then holds
// failed for good, is replaced by a new client (renewDLQ). The success path stays
// outside transactions: offsets are committed with plain OffsetCommit
// while no dead letter is on its way, so storing events pays nothing.
//
// A record to dead-letter waits for its turn: its DLQ produce is sent
// only once everything below it in its partition is stored or is a dead
// letter already sent (so the commit watermark reaches it as soon as those
// are stored). Its key is released at once, so neither the wait nor the
// produce holds back any key. The first dead letter
// begins a transaction; the produce is acknowledged (written, invisible
// to read_committed readers), the record finishes, the writer stores its
// dead_lettered row, and the watermark moves past it. From the moment a
// partition has a dead letter in the open transaction, its offsets are
// committed only by that transaction. The commit loop ends the
// transaction once it covers every dead letter in it (each one's
// partition watermark is past its source offset): AddOffsetsToTxn,
// TxnOffsetCommit of the watermarks, EndTxn(commit). While it waits for
// that, the transaction is closing: later dead letters wait for the next
// one, so a steady stream of failures cannot keep it open for ever; only
// one below a dead letter it holds in the same partition joins it, as the
// transaction waits for that one's record (see produceDLQ).
//
// Crash points, for a record R dead-lettered in transaction T:
//   - before R's DLQ produce: nothing written; R is redelivered and
//     dead-lettered in a later transaction.
//   - after the produce is acknowledged, before or after the dead_lettered
//     row is stored, before EndTxn(commit) reaches the coordinator: T is
//     aborted (by the restarted member's InitProducerID, by the
//     transaction timeout, or by another member's fence), so the dead
//     letter is never visible and the group offset stays at or below R;
//     R is redelivered and dead-lettered again in a new transaction, and
//     the store settles its row as a duplicate.
//   - once the coordinator has the commit: the dead letter and the offset
//     past R become visible together; R is never redelivered.
//
// A dead letter is never committed above its partition's watermark: it is
// produced only when nothing but dead letters is unfinished below it, and
// T commits only when every watermark is past its dead letters; until
// then, plain commits of its partition stop at its lowest dead letter. When T cannot commit
// (a commit error, a fence, a revoke or shutdown that arrives before it is
// covered), it is aborted and every partition still owned that had a dead
// letter in it is rewound to its committed offset, so the records whose
// dead letters were aborted are processed again; their other records,
// already stored, settle as duplicates.

// txnTimeout is the transaction timeout: how long an open DLQ
// transaction of a member that died stays open (holding read_committed
// readers of the DLQ back) before the coordinator aborts it, when no
// restarted member with the same consumer id fences it first. A
// transaction normally lives for one commit interval and a store write.
const txnTimeout = 15 * time.Second

// dlqTxn is the open DLQ transaction, guarded by Consumer.mu.
type dlqTxn struct {
	// dl maps each partition with a dead letter in the transaction to the
	// highest source offset dead-lettered there, and low to the lowest.
	dl, low map[int32]int64
	// pending counts produces sent and not answered yet.
	pending int
	// closing is set once a commit found the transaction not covered:
	// new dead letters wait in waiting for the next transaction.
	closing bool
	waiting []*rec
	// lost is the error of a produce that found the transaction gone
	// (txnLost): it can never commit, and the next commit aborts it.
	lost error
}

// TransactionalID is the transactional id of the member consumerID of
// group: stable across restarts, so a restarted member fences its
// predecessor's open transaction.
func TransactionalID(group, consumerID string) string {
	return "pulse-dlq/" + group + "/" + consumerID
}

// nextTurn produces the dead letters of ps whose turn came: those with
// nothing unfinished below them in the partition but other dead letters
// already sent. A run of failed records at the head of a partition so
// goes to the DLQ together, in one transaction, rather than one store
// write apart. Called with mu held.
func (c *Consumer) nextTurn(ps *partState) {
	if len(ps.dlqTurn) == 0 || ps.gone {
		return
	}
	seq := max(ps.turnFrom, ps.base+uint64(ps.head))
	for ; seq < ps.base+uint64(len(ps.pending)); seq++ {
		if ps.pending[seq-ps.base].done {
			continue
		}
		r := ps.dlqTurn[seq]
		if r == nil {
			break
		}
		delete(ps.dlqTurn, seq)
		if r.state == stDeadLettering {
			c.fx.produce = append(c.fx.produce, r)
		}
	}
	ps.turnFrom = seq
}

// txnState reports, with mu held, whether a DLQ transaction has dead
// letters and whether it covers them all, and whether it can never
// cover them (a partition of it is no longer owned).
func (c *Consumer) txnState() (active, covered, orphaned bool) {
	if len(c.txn.dl) == 0 && c.txn.pending == 0 {
		return false, false, false
	}
	covered = c.txn.pending == 0
	for p, off := range c.txn.dl {
		ps := c.parts[p]
		if ps == nil || c.rewind[p] {
			return true, false, true
		}
		if wm, _, ok := ps.watermark(); !ok || wm <= off {
			covered = false
		}
	}
	return true, covered, false
}

// commitTxn commits the open DLQ transaction with offsets, which cover
// every dead letter in it. On failure the transaction is aborted.
func (c *Consumer) commitTxn(ctx context.Context, cl *kgo.Client, offsets map[int32]kgo.EpochOffset) error {
	c.txnMu.Lock()
	err := c.dlq.Flush(ctx)
	if err == nil {
		err = c.txnOffsetCommit(ctx, cl, offsets)
	}
	if err == nil {
		err = c.dlq.EndTransaction(ctx, kgo.TryCommit)
	}
	if err != nil {
		again := c.abortTxnLocked(ctx, cl, err)
		c.txnMu.Unlock()
		c.m.commitsErr.Inc()
		for _, r := range again {
			c.produceDLQ(r)
		}
		return fmt.Errorf("commit DLQ transaction: %w", err)
	}
	c.txnOpen = false
	now := time.Now()
	c.mu.Lock()
	for p, eo := range offsets {
		if c.parts[p] != nil {
			c.committed[p] = eo.Offset
		}
	}
	c.lastCommit = now
	waiting := c.txn.waiting
	c.txn = dlqTxn{}
	c.mu.Unlock()
	c.txnMu.Unlock()
	c.m.commitsOK.Inc()
	c.m.dlqTxns.Inc()
	for _, r := range waiting {
		c.produceDLQ(r)
	}
	return nil
}

// txnOffsetCommit adds the group to the open transaction and commits
// offsets in it, as the member cl of the group. kgo keeps this to its
// GroupTransactSession, which commits the polled position rather than the
// pipeline's watermarks, so the requests are issued here. Called with
// txnMu held.
func (c *Consumer) txnOffsetCommit(ctx context.Context, cl *kgo.Client, offsets map[int32]kgo.EpochOffset) error {
	id, epoch, err := c.dlq.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("producer id: %w", err)
	}
	txnID := TransactionalID(c.cfg.Group, c.cfg.ConsumerID)
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID = txnID
	add.ProducerID = id
	add.ProducerEpoch = epoch
	add.Group = c.cfg.Group
	addResp, err := add.RequestWith(ctx, c.dlq)
	if err == nil {
		err = kerr.ErrorForCode(addResp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}
	topicID, err := c.topicIDOf(ctx, cl)
	if err != nil {
		return err
	}
	memberID, generation := cl.GroupMetadata()
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID = txnID
	req.Group = c.cfg.Group
	req.ProducerID = id
	req.ProducerEpoch = epoch
	req.Generation = generation
	req.MemberID = memberID
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic = c.cfg.Topic
	t.TopicID = topicID // recent versions name the topic by id only
	for p, eo := range offsets {
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition = p
		rp.Offset = eo.Offset
		rp.LeaderEpoch = eo.Epoch
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("transactional offset commit: %w", err)
	}
	var errs []error
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				errs = append(errs, fmt.Errorf("partition %d: %w", rp.Partition, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("transactional offset commit: %w", errors.Join(errs...))
	}
	return nil
}

// topicIDOf returns the id of the events topic, looked up once. Called
// with txnMu held.
func (c *Consumer) topicIDOf(ctx context.Context, cl *kgo.Client) ([16]byte, error) {
	if c.topicID != ([16]byte{}) {
		return c.topicID, nil
	}
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(c.cfg.Topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return [16]byte{}, fmt.Errorf("topic id of %s: %w", c.cfg.Topic, err)
	}
	for _, rt := range resp.Topics {
		if rt.Topic != nil && *rt.Topic == c.cfg.Topic {
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
				return [16]byte{}, fmt.Errorf("topic id of %s: %w", c.cfg.Topic, err)
			}
			c.topicID = rt.TopicID
			return c.topicID, nil
		}
	}
	return [16]byte{}, fmt.Errorf("topic id of %s: not in the metadata", c.cfg.Topic)
}

// abortTxn aborts the open DLQ transaction (see abortTxnLocked).
func (c *Consumer) abortTxn(ctx context.Context, cl *kgo.Client, cause error) {
	c.txnMu.Lock()
	again := c.abortTxnLocked(ctx, cl, cause)
	c.txnMu.Unlock()
	for _, r := range again {
		c.produceDLQ(r)
	}
}

// abortTxnLocked aborts the open DLQ transaction: its dead letters are
// discarded, so every partition still owned that had one is rewound to its
// committed offset (by the poll loop) and processed again. It returns
// the dead letters that waited for the next transaction, to be produced
// once txnMu is released. Called with txnMu held.
func (c *Consumer) abortTxnLocked(ctx context.Context, cl *kgo.Client, cause error) []*rec {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	err := c.dlq.AbortBufferedRecords(actx)
	if err == nil {
		err = c.dlq.EndTransaction(actx, kgo.TryAbort)
	}
	c.mu.Lock()
	lost, stopped := c.txn.lost, c.stopped
	c.mu.Unlock()
	if err == nil && lost == nil {
		c.txnOpen = false
	} else if !stopped {
		// A lost transaction leaves the producer id failed for good
		// (under KIP-890 part 2, INVALID_PRODUCER_EPOCH on a produce
		// after the coordinator's timeout abort), and an abort that
		// failed leaves the client's state unknown: start afresh.
		c.renewDLQ(actx, cmp.Or(lost, err))
	}
	c.mu.Lock()
	var rewound []int32
	for p := range c.txn.dl {
		// Marked even at shutdown, when no rewind runs any more: a
		// partition to rewind is never committed again (not by the
		// revoke that leaving the group brings either), as its watermark
		// is past dead letters that are gone.
		if c.parts[p] != nil {
			c.rewind[p] = true
			rewound = append(rewound, p)
		}
	}
	if len(rewound) > 0 && c.pollCancel != nil {
		c.pollCancel()
	}
	waiting := c.txn.waiting
	c.txn = dlqTxn{}
	var again []*rec
	for _, r := range waiting {
		if !c.rewind[r.part.p] && !r.part.gone && r.state == stDeadLettering {
			again = append(again, r)
		}
	}
	c.mu.Unlock()
	c.m.dlqTxnAborts.Inc()
	c.log.Warn("DLQ transaction aborted; its partitions are processed again from their committed offsets",
		"cause", cause, "rewound", rewound, "abort_err", err)
	c.signalSpace()
	return again
}

// renewDLQ replaces the DLQ producer by a new client with the same
// transactional id, whose producer id fences the old one's and aborts
// whatever transaction it left open. Called with txnMu held, and no
// produce of the old client unanswered (abortTxnLocked aborted them).
func (c *Consumer) renewDLQ(ctx context.Context, cause error) {
	dlq, err := kgo.NewClient(c.dlqOpts...)
	if err != nil {
		c.log.Warn("renew the DLQ producer", "cause", cause, "err", err)
		return
	}
	if _, _, err := dlq.ProducerID(ctx); err != nil {
		// The next BeginTransaction or produce loads it again.
		c.log.Warn("initialise the renewed DLQ producer", "err", err)
	}
	c.dlq.Close()
	c.dlq = dlq
	c.txnOpen = false
	c.log.Warn("DLQ producer renewed", "cause", cause)
}

// doRewinds restarts the partitions whose DLQ transaction was aborted
// from their committed offsets: their state is dropped (records in
// flight abandoned, as on a revoke) and the client's fetch position set
// back. Called by the poll loop between polls, where no rebalance runs.
func (c *Consumer) doRewinds(cl *kgo.Client) {
	c.mu.Lock()
	if len(c.rewind) == 0 {
		c.mu.Unlock()
		return
	}
	sets := make(map[int32]kgo.EpochOffset, len(c.rewind))
	for p := range c.rewind {
		ps := c.parts[p]
		if ps == nil {
			continue
		}
		target, ok := c.committed[p]
		if !ok {
			target, ok = ps.first, ps.first >= 0
		}
		// Retries go on from where they were, not from the start.
		resume := c.carryRetries(ps)
		c.abandon(ps)
		ps.gone = true
		c.inFlight -= ps.unfinished
		c.parts[p] = newPartState(p)
		// What was already committed before the assignment still is.
		c.parts[p].settled = ps.settled
		c.parts[p].resume = resume
		// Records fetched since are given again, some of them stored
		// already: those are looked up and settled unprocessed.
		c.parts[p].storedUntil = max(ps.storedUntil, ps.next)
		if ok {
			sets[p] = kgo.EpochOffset{Epoch: -1, Offset: target}
		}
	}
	clear(c.rewind)
	c.m.inFlight.Set(float64(c.inFlight))
	c.mu.Unlock()
	if len(sets) > 0 {
		cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{c.cfg.Topic: sets})
		c.log.Info("partitions rewound to their committed offsets", "offsets", sets)
	}
}

// waitProduces waits up to timeout for every DLQ produce sent to be
// answered, so that a revoke does not abandon a dead letter the open
// transaction already holds.
func (c *Consumer) waitProduces(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		n := c.txn.pending
		c.mu.Unlock()
		if n == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		t := time.NewTimer(time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// settleTxn commits the open DLQ transaction once it covers its dead
// letters, waiting up to timeout for the writer to store them; it aborts
// the transaction when that does not happen in time. Revokes and shutdown
// call it so that no transaction outlives the partitions it commits.
func (c *Consumer) settleTxn(ctx context.Context, cl *kgo.Client, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		active, _, _ := c.txnState()
		c.mu.Unlock()
		if !active {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.abortTxn(ctx, cl, errors.New("dead letters not stored in time"))
			return
		}
		cctx, cancel := context.WithTimeout(ctx, commitTimeout)
		_ = c.commit(cctx, cl) // a failed commit aborts; the loop then ends
		cancel()
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}
