package pipeline

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// Retries that survive a restart.
//
// When an attempt fails and another is scheduled, the record's retry
// state (its attempts, the retries scheduled, when the next is due) is
// saved to the store's retry log (store.Retries) by the saver below, in
// batches, off the record's path: records that never fail pay nothing.
// The next attempt waits for that save, so the state never lands after
// the write of the finished record, whose transaction deletes it. A
// revoke and shutdown wait for the saves queued.
//
// When partitions are assigned, the member reads their retry states at or
// above the group's committed offset (one query per partition, at
// assignment only). A record delivered again whose state is there (same
// offset, same event_id) does not start over: it waits for the due time
// it had, holding its key as a retry does, then makes its next attempt
// with the budget it has left, or is dead-lettered with all its attempts
// when the last one scheduled none. A crash loses at most the saves under
// way (a few milliseconds of failures), whose records resume from their
// state before.

// retryLog is the store's retry log; without it a retry's state lives in
// memory only.
type retryLog interface {
	SaveRetries(ctx context.Context, states []store.Retry) error
	PendingRetries(ctx context.Context, topic string, partition int32, from int64) ([]store.Retry, error)
	Finished(ctx context.Context, eventIDs []string) ([]store.Finished, error)
}

// retryLoadWait bounds the reads at assignment.
const retryLoadWait = 5 * time.Second

// saveRetry queues r's retry state, just scheduled, for the saver; r's
// next attempt waits for the save (see onTimer). Called with mu held.
func (c *Consumer) saveRetry(r *rec) {
	if c.retryLog == nil {
		return
	}
	r.saving = true
	c.saves = append(c.saves, r)
	c.fx.save = true
}

// retryState is r's state as the retry log keeps it. Called with mu held.
func (c *Consumer) retryState(r *rec) store.Retry {
	s := store.Retry{
		Topic: r.kr.Topic, Partition: r.kr.Partition, Offset: r.kr.Offset,
		EventID: r.msg.EventID, Retries: r.msg.Retries, Attempts: r.msg.Attempts,
		ConsumerID: c.cfg.ConsumerID, QueuedAt: r.msg.QueuedAt, EventType: r.msg.EventType,
	}
	if r.msg.NextRetryAt != nil {
		s.NextRetryAt = *r.msg.NextRetryAt
	}
	return s
}

// saveLoop writes the queued retry states, all those queued in one call,
// retrying with backoff until they are saved or ctx is done.
func (c *Consumer) saveLoop(ctx context.Context) {
	defer func() {
		c.mu.Lock()
		c.saverDone = true
		close(c.saved)
		c.saved = make(chan struct{})
		c.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.saveWake:
		}
		for {
			c.mu.Lock()
			batch := c.saves
			c.saves = nil
			states := make([]store.Retry, len(batch))
			for i, r := range batch {
				states[i] = c.retryState(r)
			}
			c.savesBusy = len(batch) > 0
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			ok := c.writeRetries(ctx, states)
			c.mu.Lock()
			c.savesBusy = false
			now := time.Now()
			for _, r := range batch {
				r.saving = false
				if !r.dueWhileSaving {
					continue
				}
				// Its next attempt came due during the save.
				r.dueWhileSaving = false
				if ok && r.state == stRetrying && !c.stopped && !r.part.gone && c.begin(r, now) {
					c.release(r)
				}
			}
			c.m.heldKeys.Set(float64(c.held))
			close(c.saved)
			c.saved = make(chan struct{})
			c.unlock()
			if !ok {
				return
			}
		}
	}
}

// writeRetries saves states, retrying with backoff until it succeeds or
// ctx is done (at shutdown). It reports whether they were saved.
func (c *Consumer) writeRetries(ctx context.Context, states []store.Retry) bool {
	for attempt := 1; ; attempt++ {
		err := c.retryLog.SaveRetries(ctx, states)
		if err == nil {
			c.m.savesOK.Inc()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.m.savesErr.Inc()
		d := c.ioBackoff(attempt)
		c.log.Warn("saving retry states failed; retrying", "records", len(states), "attempt", attempt, "retry_in", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// flushSaves waits, up to timeout or until ctx is done, for the retry
// states queued so far to be saved.
func (c *Consumer) flushSaves(ctx context.Context, timeout time.Duration) {
	if c.retryLog == nil {
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		done := (len(c.saves) == 0 && !c.savesBusy) || c.saverDone
		saved := c.saved
		c.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-saved:
		}
	}
}

// loadRetries reads, for newly assigned partitions, the retry states of
// their records past the group's committed offset and where the store's
// records end, so that dispatch resumes those retries and settles the
// records already stored without processing them again (see
// redelivered.go). A read that fails is logged: those records then start
// over, as they did before the retry log.
func (c *Consumer) loadRetries(ctx context.Context, cl *kgo.Client, parts []int32) {
	if c.retryLog == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, retryLoadWait)
	defer cancel()
	adm := kadm.NewClient(cl)
	from := make(map[int32]int64, len(parts))
	committed, err := adm.FetchOffsets(ctx, c.cfg.Group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		// Nothing is deleted below offset 0: the states are all read.
		c.log.Warn("could not read the group's committed offsets; retry states are read whole", "partitions", parts, "err", err)
	} else {
		for _, p := range parts {
			if o, ok := committed.Lookup(c.cfg.Topic, p); ok && o.At > 0 {
				from[p] = o.At
			}
		}
	}
	var positions store.Positions
	if pf, ok := c.sink.(positionReader); ok {
		if positions, err = pf.Positions(ctx); err != nil {
			c.log.Warn("could not read where the store's records end; records stored above the committed offset are processed again", "err", err)
		}
	}
	states := make(map[int32]map[int64]store.Retry, len(parts))
	n := 0
	for _, p := range parts {
		rs, err := c.retryLog.PendingRetries(ctx, c.cfg.Topic, p, from[p])
		if err != nil {
			c.log.Warn("could not read the retry states of a partition; its failing records start their retries over",
				"partition", p, "err", err)
			continue
		}
		if len(rs) == 0 {
			continue
		}
		m := make(map[int64]store.Retry, len(rs))
		for _, s := range rs {
			m[s.Offset] = s
		}
		states[p] = m
		n += len(rs)
	}
	c.mu.Lock()
	for _, p := range parts {
		ps := c.parts[p]
		if ps == nil || ps.next >= 0 {
			continue // gone, or fetching already: too late to change
		}
		if m := states[p]; m != nil {
			ps.resume = m
		}
		ps.storedUntil = max(ps.storedUntil, positions.Of(c.cfg.Topic, p))
	}
	c.mu.Unlock()
	if n > 0 {
		c.log.Info("retries to resume in the assigned partitions", "records", n, "partitions", parts)
	}
}

// positionReader is the store's read of where its records end.
type positionReader interface {
	Positions(ctx context.Context) (store.Positions, error)
}

// takeResume gives r the retry state kept for its offset, when it is r's
// event's. Called with mu held.
func (c *Consumer) takeResume(r *rec) {
	ps := r.part
	s, ok := ps.resume[r.kr.Offset]
	if !ok {
		return
	}
	delete(ps.resume, r.kr.Offset)
	if s.EventID != r.msg.EventID || r.invalid != "" || len(s.Attempts) == 0 {
		return // another record at a reused offset
	}
	r.resumed = &s
}

// resume takes up r's retry where it stopped: r waits for the due time it
// had, holding its key, then makes its next attempt; when its last
// attempt scheduled none (its budget was spent) it is dead-lettered at
// once. It reports whether r let go of its key (see begin). Called with
// mu held.
func (c *Consumer) resume(r *rec, s *store.Retry, now time.Time) bool {
	c.m.resumed.Inc()
	r.msg.Attempts = s.Attempts
	r.msg.Retries = s.Retries
	last := s.Attempts[len(s.Attempts)-1]
	r.msg.Error = last.Error
	// The final attempt's duration, should r be dead-lettered now, is
	// its dead letter's: not the time since the last attempt.
	r.attemptStart = now
	started := last.StartedAt.UTC()
	r.msg.StartedAt = &started
	if len(s.Attempts) > s.Retries {
		c.log.Info("resuming a record whose retries were spent: dead-lettering it", "event_id", r.msg.EventID,
			"partition", r.kr.Partition, "offset", r.kr.Offset, "attempts", len(s.Attempts))
		c.deadLetter(r, last.Error, now)
		return true
	}
	next := s.NextRetryAt.UTC()
	r.state = stRetrying
	r.msg.Status = event.StatusRetrying
	r.msg.NextRetryAt = &next
	r.part.active[r] = struct{}{}
	c.fx.publish = append(c.fx.publish, r.msg)
	wait := max(next.Sub(now), 0)
	c.log.Info("resuming a retry", "event_id", r.msg.EventID, "request_id", r.msg.RequestID,
		"partition", r.kr.Partition, "offset", r.kr.Offset, "retries", r.msg.Retries, "retry_in", wait, "saved_by", s.ConsumerID)
	r.timer = c.after(wait, func() { c.onTimer(r, stRetrying, c.begin) })
	return false
}

// carryRetries returns the retry states of ps's records, for the state
// that replaces ps at a rewind: the records are delivered again, and
// resume where they were rather than start over. Called with mu held,
// before ps is abandoned.
func (c *Consumer) carryRetries(ps *partState) map[int64]store.Retry {
	out := make(map[int64]store.Retry, len(ps.resume))
	for off, s := range ps.resume {
		out[off] = s
	}
	keep := func(r *rec) {
		if r.invalid != "" || len(r.msg.Attempts) == 0 {
			return
		}
		s := c.retryState(r)
		if s.NextRetryAt.IsZero() {
			s.NextRetryAt = time.Now()
		}
		out[r.kr.Offset] = s
	}
	for r := range ps.active {
		keep(r)
	}
	for _, q := range ps.keys {
		for _, r := range q.recs {
			if r.state == stQueued && r.resumed != nil {
				out[r.kr.Offset] = *r.resumed
			}
		}
	}
	return out
}
