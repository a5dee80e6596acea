package pipeline

import (
	"errors"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/store"
)

// ErrSimulated is the error of an attempt on an event with should_fail;
// its text is the error the event's rows and dead letter carry.
var ErrSimulated = errors.New("simulated failure (should_fail)")

// recState is a record's place in the processing this file runs: queued
// behind its key, attempted and retried, then finished for the writer
// (writer.go) or dead-lettered first (deadletter.go); a revoke abandons it
// (partition.go).
type recState uint8

const (
	stQueued        recState = iota // waiting behind its key
	stRunning                       // an attempt waits for its delay
	stRetrying                      // waiting for the next attempt
	stDeadLettering                 // waiting for the DLQ to acknowledge it
	stFinished                      // in the writer queue
	stDone                          // stored
	stAbandoned                     // revoked or shut down unfinished
)

// rec is one fetched record on its way through the pipeline.
type rec struct {
	part *partState
	// seq is the record's position in its partition's pending list.
	seq uint64
	kr  *kgo.Record
	// key orders processing: the record key, or user_id:event_type; empty
	// for a keyless record that does not decode (nothing to order by).
	key   string
	ev    event.Event
	msg   event.Message
	state recState
	// invalid is the decode or validation error; such a record goes to
	// the DLQ without an attempt.
	invalid      string
	attemptStart time.Time
	// timeFilled says the producer gave the event its timestamp (see
	// store.Record.TimeFilled).
	timeFilled bool
	// delivery is what the collector counted for the ledger (headers).
	delivery ledger.Delivery
	// inTxn is set once r's dead letter was produced in the open DLQ
	// transaction.
	inTxn      bool
	dlqTries   int
	dlqHeaders []kgo.RecordHeader
	// dlqShrink is how far the DLQ value is cut after the DLQ topic
	// refused it as too large: 1 keeps the head, 2 drops it.
	dlqShrink int
	// suppressed is set when r is dead-lettered because its user was
	// erased: a dead letter of the same event from before (the one a
	// replay came from) had another reason, so r is no copy of it.
	suppressed bool
	timer      *time.Timer
	// resumed is the retry state the retry log kept for r (retrylog.go),
	// taken up by its first begin.
	resumed *store.Retry
	// saving is set while r's retry state is being saved; its next
	// attempt waits for it, dueWhileSaving saying it came due.
	saving, dueWhileSaving bool
}

// dispatch takes polled records into the pipeline: records of an unheld
// key are processed inline; the others queue behind their key.
func (c *Consumer) dispatch(fs kgo.Fetches, stored map[string]store.Finished) {
	n := 0
	// One fetch time for the whole poll, shared by its messages: it is
	// never modified, and one allocation per poll keeps the fast path
	// light.
	fetched := new(time.Now().UTC())
	c.mu.Lock()
	fs.EachRecord(func(kr *kgo.Record) {
		// Processing starts now: decoding is part of it.
		now := time.Now()
		ps := c.parts[kr.Partition]
		if ps == nil || kr.Topic != c.cfg.Topic || (ps.next >= 0 && kr.Offset < ps.next) {
			// Not ours (any more), or already fetched: nothing to do.
			return
		}
		if ps.first < 0 {
			ps.first = kr.Offset
		}
		if kr.Attrs.IsControl() {
			// A transaction marker: nothing to process, but the
			// watermark may move past it once everything before it is
			// stored.
			ps.next = kr.Offset + 1
			ps.epoch = kr.LeaderEpoch
			return
		}
		n++
		r := c.newRec(ps, kr)
		r.msg.FetchedAt = fetched
		ps.pending = append(ps.pending, slot{off: kr.Offset, epoch: kr.LeaderEpoch})
		ps.next = kr.Offset + 1
		ps.epoch = kr.LeaderEpoch
		ps.unfinished++
		c.inFlight++
		if stored != nil && c.settleStored(r, stored) {
			return
		}
		if len(ps.resume) > 0 {
			c.takeResume(r)
		}
		if stored != nil && r.resumed == nil {
			c.takeDeadLettered(r, stored)
		}
		if r.key != "" {
			if q := ps.keys[r.key]; q != nil {
				q.recs = append(q.recs, r)
				c.announceWaiting(r, q)
				return
			}
		}
		if !c.begin(r, now) && r.key != "" {
			ps.keys[r.key] = &keyQueue{recs: []*rec{r}}
			c.held++
		}
	})
	c.m.inFlight.Set(float64(c.inFlight))
	c.m.heldKeys.Set(float64(c.held))
	c.m.consumed.Add(float64(n))
	c.unlock()
}

// announceWaiting publishes r as queued behind the head of its key's
// queue, so that the dashboard shows it waiting (and behind what) rather
// than nowhere until its turn. Called with mu held.
func (c *Consumer) announceWaiting(r *rec, q *keyQueue) {
	if r.invalid != "" {
		return // not an event: nothing to show until its dead letter
	}
	head := q.recs[0]
	r.msg.WaitingBehind = &event.WaitingBehind{
		Key: r.key, EventID: head.msg.EventID, EventType: head.msg.EventType, ElementID: head.msg.ElementID,
		Position: len(q.recs) - 1,
	}
	c.fx.publish = append(c.fx.publish, r.msg)
}

// begin starts r's next attempt (or its dead-lettering, when it did not
// decode). It reports whether r let go of its key at once: it finished, or
// is on its way to the DLQ; otherwise r now holds its key until a timer
// moves it on. Called with mu held.
func (c *Consumer) begin(r *rec, now time.Time) bool {
	r.msg.WaitingBehind = nil
	if r.invalid != "" {
		c.deadLetter(r, r.invalid, now)
		return true
	}
	if s := r.resumed; s != nil {
		r.resumed = nil
		return c.resume(r, s, now)
	}
	r.attemptStart = now
	started := now.UTC()
	r.msg.StartedAt = &started
	r.msg.NextRetryAt = nil
	if c.simulate && r.ev.DelaySeconds > 0 {
		r.state = stRunning
		r.msg.Status = event.StatusProcessing
		r.part.active[r] = struct{}{}
		c.fx.publish = append(c.fx.publish, r.msg)
		d := time.Duration(r.ev.DelaySeconds * float64(time.Second))
		r.timer = c.after(d, func() { c.onTimer(r, stRunning, c.endAttempt) })
		return false
	}
	return c.endAttempt(r, now)
}

// endAttempt ends r's current attempt: it completes, or fails and is
// retried or dead-lettered. It reports whether r let go of its key (see
// begin). Called with mu held.
func (c *Consumer) endAttempt(r *rec, now time.Time) bool {
	if !c.simulate || !r.ev.ShouldFail {
		c.finish(r, event.StatusCompleted)
		return true
	}
	c.stats.failed++
	c.m.failed.Inc()
	r.msg.Error = ErrSimulated.Error()
	if r.msg.Retries >= c.cfg.MaxRetries {
		r.failedAttempt(now, nil)
		c.deadLetter(r, r.msg.Error, now)
		return true
	}
	r.msg.Retries++
	c.stats.retried++
	c.m.retries.Inc()
	d := c.backoff(r.msg.Retries)
	next := now.Add(d).UTC()
	r.failedAttempt(now, &next)
	r.state = stRetrying
	r.msg.Status = event.StatusRetrying
	r.msg.NextRetryAt = &next
	r.part.active[r] = struct{}{}
	c.fx.publish = append(c.fx.publish, r.msg)
	c.saveRetry(r)
	c.log.Debug("attempt failed; retrying", "event_id", r.msg.EventID, "request_id", r.msg.RequestID,
		"partition", r.msg.Partition, "offset", r.msg.Offset, "retries", r.msg.Retries, "retry_in", d, "err", ErrSimulated)
	r.timer = c.after(d, func() { c.onTimer(r, stRetrying, c.begin) })
	return false
}

// failedAttempt records the attempt of r that just failed, and when the
// next one is due (nil: none). Messages already published share the old
// backing array, so the list is copied rather than appended to in place.
func (r *rec) failedAttempt(now time.Time, next *time.Time) {
	r.msg.Attempts = append(slices.Clip(r.msg.Attempts), event.Attempt{
		N:           len(r.msg.Attempts) + 1,
		StartedAt:   r.attemptStart.UTC(),
		EndedAt:     now.UTC(),
		Error:       r.msg.Error,
		ConsumerID:  r.msg.ConsumerID,
		NextRetryAt: next,
	})
}

// onTimer runs step for r if r is still in state want (a revoke or
// shutdown may have abandoned it), then lets the records behind r's key
// move on if r finished.
func (c *Consumer) onTimer(r *rec, want recState, step func(*rec, time.Time) bool) {
	c.mu.Lock()
	if r.state != want || c.stopped {
		c.mu.Unlock()
		return
	}
	r.timer = nil
	if want == stRetrying && r.saving {
		// The save of r's state is under way: the saver makes the
		// attempt once it is done (retrylog.go).
		r.dueWhileSaving = true
		c.unlock()
		return
	}
	now := time.Now()
	if step(r, now) {
		c.release(r)
	}
	c.m.heldKeys.Set(float64(c.held))
	c.unlock()
}

// finish ends r's processing with a terminal status and queues it for the
// writer. Called with mu held.
func (c *Consumer) finish(r *rec, status event.Status) {
	now := time.Now()
	delete(r.part.active, r)
	r.state = stFinished
	r.msg.Status = status
	completed := now.UTC()
	r.msg.CompletedAt = &completed
	r.msg.NextRetryAt = nil
	r.msg.DurationMS = float64(now.Sub(r.attemptStart).Microseconds()) / 1000
	if status == event.StatusCompleted {
		r.msg.Error = ""
		c.metrics.processing.Observe(now.Sub(r.attemptStart).Seconds())
	}
	c.finished = append(c.finished, r)
	c.finishedSeq++
	c.fx.wake = true
}

// release lets the records queued behind the finished head r run, in
// order, until one holds the key again or none is left. Called with mu
// held.
func (c *Consumer) release(r *rec) {
	ps := r.part
	q := ps.keys[r.key]
	if r.key == "" || q == nil || q.recs[0] != r {
		return
	}
	for {
		q.recs[0] = nil
		q.recs = q.recs[1:]
		if len(q.recs) == 0 {
			delete(ps.keys, r.key)
			c.held--
			return
		}
		if !c.begin(q.recs[0], time.Now()) {
			return
		}
	}
}
