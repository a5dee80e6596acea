package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// deadLetter sends r to the DLQ topic once its turn comes (see
// nextTurn); r finishes when the DLQ
// acknowledges it. Its key is not held meanwhile: its processing is over.
// Called with mu held.
func (c *Consumer) deadLetter(r *rec, reason string, now time.Time) {
	if r.msg.StartedAt == nil {
		started := now.UTC()
		r.msg.StartedAt = &started
		r.attemptStart = now
	}
	r.state = stDeadLettering
	r.msg.Status = event.StatusProcessing
	r.msg.Error = reason
	r.msg.NextRetryAt = nil
	r.part.active[r] = struct{}{}
	attempts := r.msg.Retries + 1
	dl := record.DeadLetter{
		Topic: r.kr.Topic, Partition: r.kr.Partition, Offset: r.kr.Offset,
		Error: reason, Attempts: attempts, ConsumerID: c.cfg.ConsumerID,
		FailedAt: now, EventID: r.msg.EventID,
	}
	r.dlqHeaders = dl.Headers(r.kr.Headers)
	c.log.Warn("dead-lettering record", "event_id", r.msg.EventID, "request_id", r.msg.RequestID,
		"partition", r.kr.Partition, "offset", r.kr.Offset, "attempts", attempts, "err", reason)
	if r.part.dlqTurn == nil {
		r.part.dlqTurn = make(map[uint64]*rec)
	}
	r.part.dlqTurn[r.seq] = r
	// Known from now on, not from the DLQ's answer: a later copy of the
	// event may reach its turn while this dead letter waits for its own
	// (see finishCopy).
	if !r.msg.IDDerived {
		if r.part.deadIDs == nil {
			r.part.deadIDs = make(map[string]int64)
		}
		if _, seen := r.part.deadIDs[r.msg.EventID]; !seen {
			r.part.deadIDs[r.msg.EventID] = r.kr.Offset
		}
	}
	c.nextTurn(r.part)
}

// produceDLQ produces r to the DLQ topic in the open DLQ transaction,
// beginning one if none is open, or queues it for the next transaction
// while the open one is closing. Called without mu: the client may call
// back at once.
func (c *Consumer) produceDLQ(r *rec) {
	if c.finishSettled(r) || c.finishCopy(r) {
		return
	}
	c.txnMu.Lock()
	defer c.txnMu.Unlock()
	c.mu.Lock()
	p := r.kr.Partition
	// A partition whose transaction aborted is rewound by the poll loop,
	// which abandons r: a dead letter sent meanwhile would begin a new
	// transaction the partition's new records could never cover (they
	// wait below it for it to end), and one of r's next turn would be its
	// second.
	if r.state != stDeadLettering || c.stopped || r.part.gone || c.rewind[p] {
		c.mu.Unlock()
		return
	}
	// A closing transaction takes no new dead letters, except one below
	// a dead letter it holds in the same partition: it covers that one
	// only once the partition's watermark is past r, so r waiting for it
	// to end would hold both for good. The turns of one partition are
	// produced from several goroutines (and after a store look-up,
	// copies.go), so a higher one can join first.
	if hi, held := c.txn.dl[p]; c.txn.closing && !r.inTxn && !(held && r.kr.Offset < hi) {
		c.txn.waiting = append(c.txn.waiting, r)
		c.mu.Unlock()
		return
	}
	r.inTxn = true
	c.txn.pending++
	if c.txn.dl == nil {
		c.txn.dl, c.txn.low = make(map[int32]int64), make(map[int32]int64)
	}
	if cur, ok := c.txn.dl[p]; !ok || r.kr.Offset > cur {
		c.txn.dl[p] = r.kr.Offset
	}
	if cur, ok := c.txn.low[p]; !ok || r.kr.Offset < cur {
		c.txn.low[p] = r.kr.Offset
	}
	c.mu.Unlock()
	if !c.txnOpen {
		if err := c.dlq.BeginTransaction(); err != nil {
			c.onDLQ(r, 0, fmt.Errorf("begin DLQ transaction: %w", err))
			return
		}
		c.txnOpen = true
	}
	out := &kgo.Record{
		Topic:   c.cfg.DLQTopic,
		Key:     r.kr.Key,
		Value:   r.kr.Value,
		Headers: r.dlqHeaders,
	}
	if r.dlqShrink > 0 {
		record.Shrink(out, r.dlqShrink, len(r.kr.Value))
	}
	size := recordBytes(out)
	c.dlq.TryProduce(c.prodCtx, out, func(_ *kgo.Record, err error) { c.onDLQ(r, size, err) })
}

// finishSettled finishes r as dead-lettered when its dead letter was
// already committed before its partition was assigned (settled.go), and
// reports whether it did. Called without mu and txnMu: unlock may produce
// the next dead letter.
func (c *Consumer) finishSettled(r *rec) bool {
	c.mu.Lock()
	if id, ok := r.part.settled[r.kr.Offset]; r.state != stDeadLettering || c.stopped || r.inTxn || !ok || id != r.msg.EventID {
		c.mu.Unlock()
		return false
	}
	c.log.Info("dead letter already committed; not sent again", "event_id", r.msg.EventID,
		"partition", r.kr.Partition, "offset", r.kr.Offset)
	c.finishUnsent(r, c.m.dlqSettled)
	return true
}

// finishUnsent finishes r as dead-lettered without a produce, its dead
// letter being there already, and counts it on counted. Called with mu
// held; unlocks it (and so may produce the next dead letter).
func (c *Consumer) finishUnsent(r *rec, counted prometheus.Counter) {
	counted.Inc()
	c.finish(r, event.StatusDeadLettered)
	c.release(r)
	c.m.heldKeys.Set(float64(c.held))
	c.unlock()
}

// onDLQ handles the DLQ's answer: r finishes, or its produce is retried
// after a backoff (r stays unfinished, so its offset is not committed).
func (c *Consumer) onDLQ(r *rec, size int, err error) {
	c.mu.Lock()
	c.txn.pending--
	if r.state != stDeadLettering || c.stopped {
		c.mu.Unlock()
		return
	}
	if err != nil && r.inTxn && txnLost(err) {
		// The transaction is gone: every dead letter in it is
		// discarded, and a retry in it would fail the same way for ever,
		// r never finishing and the transaction never covered. The
		// commit loop aborts it, which rewinds r's partition.
		if c.txn.lost == nil {
			c.txn.lost = err
		}
		c.m.dlqErrors.Inc()
		c.log.Warn("DLQ produce failed: the DLQ transaction is lost; it is aborted and its partitions processed again",
			"event_id", r.msg.EventID, "partition", r.kr.Partition, "offset", r.kr.Offset, "err", err)
		c.mu.Unlock()
		return
	}
	if err != nil {
		if (errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)) && size > innocentDLQBytes {
			// The DLQ will never take this record: retry with less of
			// it (record.Shrink), so the partition is not stuck forever.
			r.dlqShrink = min(r.dlqShrink+1, 4)
		}
		r.dlqTries++
		d := c.ioBackoff(r.dlqTries)
		c.m.dlqErrors.Inc()
		c.log.Warn("DLQ produce failed; retrying", "event_id", r.msg.EventID, "request_id", r.msg.RequestID,
			"partition", r.kr.Partition, "offset", r.kr.Offset, "tries", r.dlqTries, "retry_in", d, "err", err)
		r.timer = c.after(d, func() {
			c.mu.Lock()
			if r.state != stDeadLettering || c.stopped {
				c.mu.Unlock()
				return
			}
			r.timer = nil
			c.mu.Unlock()
			c.produceDLQ(r)
		})
		c.mu.Unlock()
		return
	}
	if r.invalid != "" {
		c.m.dlqInvalid.Inc()
	} else {
		c.m.dlqFailed.Inc()
	}
	c.finish(r, event.StatusDeadLettered)
	c.release(r)
	c.m.heldKeys.Set(float64(c.held))
	c.unlock()
}

// txnLost reports whether a DLQ produce failed because its transaction
// can no longer commit: the producer was fenced (another member with the
// same consumer id, or the coordinator's transaction timeout, which bumps
// the producer epoch) or the coordinator forgot it.
func txnLost(err error) bool {
	return errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.ProducerFenced) ||
		errors.Is(err, kerr.InvalidProducerIDMapping) ||
		errors.Is(err, kerr.UnknownProducerID) ||
		errors.Is(err, kerr.InvalidTxnState) ||
		errors.Is(err, kerr.TransactionAbortable)
}

// innocentDLQBytes is a size no dead letter is too large at by itself:
// the broker answers MESSAGE_TOO_LARGE for a whole batch, and a small dead
// letter produced beside a large one gets it too. Such a record is retried
// as it is, while the large one is cut.
const innocentDLQBytes = 4 << 10

// recordBytes is the size of kr's key, value and headers: of a dead
// letter as it was sent, so that one already cut small is not cut more.
func recordBytes(kr *kgo.Record) int {
	n := len(kr.Key) + len(kr.Value)
	for _, h := range kr.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}
