package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// writeLoop gathers finished records into batches of up to BatchSize,
// waiting at most FlushInterval to fill one, and writes them in order.
func (c *Consumer) writeLoop(ctx context.Context) {
	defer func() {
		// Wake any flush still waiting: nothing will be written now.
		c.mu.Lock()
		c.writerDone = true
		close(c.written)
		c.written = make(chan struct{})
		c.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		if !c.gather(ctx) {
			return
		}
		for {
			c.mu.Lock()
			n := min(len(c.finished), c.cfg.BatchSize)
			batch := make([]*rec, n)
			copy(batch, c.finished)
			clear(c.finished[:n])
			c.finished = c.finished[n:]
			if len(c.finished) == 0 {
				c.finished = nil
			}
			c.mu.Unlock()
			if n == 0 {
				break
			}
			if !c.write(ctx, batch) {
				return
			}
		}
	}
}

// gather waits up to FlushInterval for a full batch, unless a flush is
// wanted. It returns false when ctx is done.
func (c *Consumer) gather(ctx context.Context) bool {
	full := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.finished) >= c.cfg.BatchSize || c.flushWanted > 0
	}
	if full() {
		return true
	}
	t := time.NewTimer(c.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-c.wake:
			if full() {
				return true
			}
		}
	}
}

// write stores batch, retrying with backoff until it succeeds or ctx is
// done (at shutdown); records are never dropped, and while the store fails
// unfinished records pile up until MaxInFlight pauses polling. It reports
// whether the batch was written.
func (c *Consumer) write(ctx context.Context, batch []*rec) bool {
	records := make([]store.Record, len(batch))
	for i, r := range batch {
		records[i].Message = r.msg
		if r.msg.Status == event.StatusCompleted {
			records[i].Event = &r.ev
			records[i].TimeFilled = r.timeFilled
			records[i].Delivery = r.delivery
		}
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		outcomes, err := c.sink.Write(ctx, records)
		if err == nil && len(outcomes) != len(records) {
			err = fmt.Errorf("store reported %d results for %d records", len(outcomes), len(records))
		}
		if err == nil {
			c.metrics.writeDuration.Observe(time.Since(start).Seconds())
			c.metrics.batchSize.Observe(float64(len(records)))
			c.afterWrite(batch, outcomes)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.metrics.writeErrors.Inc()
		d := c.ioBackoff(attempt)
		c.log.Warn("store write failed; retrying", "records", len(records), "attempt", attempt, "retry_in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// afterWrite marks a stored batch done, so its offsets may be committed,
// and publishes what changed. A record whose event_id the store holds for
// another event is not done: it goes to the DLQ with the reason.
func (c *Consumer) afterWrite(batch []*rec, outcomes []store.Outcome) {
	now := time.Now()
	// Sized for the usual case, every record new and completed: growing
	// these slices of large structs by appending cost more than the
	// statistics they feed.
	ch := event.Change{Messages: make([]event.Message, 0, len(batch)), Events: make([]event.Stored, 0, len(batch))}
	var completed, deadLettered, duplicates, conflicts, suppressed int
	c.mu.Lock()
	for i, r := range batch {
		if o := outcomes[i]; o.Conflict != "" {
			conflicts++
			if !r.part.gone && !c.stopped {
				c.conflict(r, o.Conflict, now)
			}
			continue
		}
		if outcomes[i].Suppressed && r.msg.Status == event.StatusCompleted {
			suppressed++
			if !r.part.gone && !c.stopped {
				c.suppress(r, now)
			}
			continue
		}
		r.state = stDone
		if !r.part.gone {
			r.part.markDone(r)
			c.inFlight--
			c.nextTurn(r.part)
		}
		if outcomes[i].Suppressed {
			// The dead letter of an erased user's record: the DLQ holds
			// it, and no row may name the user.
			ch.Settled = append(ch.Settled, r.msg.EventID)
			continue
		}
		if !outcomes[i].New {
			duplicates++
			c.stats.duplicates++
			ch.Settled = append(ch.Settled, r.msg.EventID)
			continue
		}
		ch.Messages = append(ch.Messages, r.msg)
		switch r.msg.Status {
		case event.StatusCompleted:
			completed++
			c.stats.processed++
			c.stats.processingMSSum += r.msg.DurationMS
			c.stats.processingCount++
			ch.Events = append(ch.Events, event.Stored{
				Event:     r.ev,
				Source:    r.msg.Source,
				Partition: r.msg.Partition,
				Offset:    r.msg.Offset,
				CreatedAt: now.UTC(),
			})
			c.metrics.endToEnd.Observe(now.Sub(r.kr.Timestamp).Seconds())
		case event.StatusDeadLettered:
			deadLettered++
			c.stats.deadLettered++
		}
	}
	c.stats.written += int64(len(batch))
	c.writtenSeq += uint64(len(batch))
	close(c.written)
	c.written = make(chan struct{})
	c.m.inFlight.Set(float64(c.inFlight))
	// Published under mu, after any in-flight state of these records.
	if c.pub != nil && (len(ch.Events) > 0 || len(ch.Messages) > 0 || len(ch.Settled) > 0) {
		c.pub.Publish(ch)
	}
	// unlock produces the dead letters whose turn came.
	c.unlock()
	c.signalSpace()

	c.m.conflicts.Add(float64(conflicts))
	c.m.suppressed.Add(float64(suppressed))
	c.m.completed.Add(float64(completed))
	c.m.deadLettered.Add(float64(deadLettered))
	c.m.duplicate.Add(float64(duplicates))
}

// conflict sends r, a completed record whose event_id is stored for
// another event (stored from origin), to the DLQ: the id was reused, and
// dropping the event as a duplicate would lose it silently. A true
// redelivery (the same event) is a duplicate, not a conflict. The dead
// letter's processing-log row cannot be stored (its event_id is taken):
// the DLQ record, a warning and pulse_pipeline_event_id_conflicts_total
// tell of it. Called with mu held.
func (c *Consumer) conflict(r *rec, origin string, now time.Time) {
	reason := "event_id: reused with different content (stored from " + origin + ")"
	r.msg.Status = event.StatusProcessing
	r.msg.CompletedAt = nil
	c.deadLetter(r, reason, now)
}

// suppressedReason is the dead-letter reason of an erased user's record.
const suppressedReason = "user_id: erased (on the suppression list), so not stored"

// suppress sends r, a completed record of a user on the suppression list
// (erased), to the DLQ: the store wrote nothing of it, and dropping it
// without a word would lose a record nobody could account for. Its
// processing-log row is not stored either (the store refuses it too):
// the DLQ record, a warning and pulse_pipeline_erased_user_records_total
// tell of it. Called with mu held.
func (c *Consumer) suppress(r *rec, now time.Time) {
	r.msg.Status = event.StatusProcessing
	r.msg.CompletedAt = nil
	r.suppressed = true
	c.deadLetter(r, suppressedReason, now)
}

// flush waits, up to timeout or until ctx is done, for every record
// finished so far to be stored. It returns at once when the writer has
// stopped.
func (c *Consumer) flush(ctx context.Context, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	c.mu.Lock()
	target := c.finishedSeq
	c.flushWanted++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.flushWanted--
		c.mu.Unlock()
	}()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	for {
		c.mu.Lock()
		done := c.writtenSeq >= target || c.writerDone
		written := c.written
		c.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-written:
		}
	}
}
