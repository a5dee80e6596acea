package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// ErrSimulated is the error of an attempt on an event with should_fail;
// its text is the error the event's rows and dead letter carry.
var ErrSimulated = errors.New("simulated failure (should_fail)")

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
	// inTxn is set once r's dead letter was produced in the open DLQ
	// transaction.
	inTxn      bool
	dlqTries   int
	dlqHeaders []kgo.RecordHeader
	// dlqShrink is how far the DLQ value is cut after the DLQ topic
	// refused it as too large: 1 keeps the head, 2 drops it.
	dlqShrink int
	timer     *time.Timer
}

// slot tracks the completion of one offset for the commit watermark.
type slot struct {
	off   int64
	epoch int32
	done  bool
}

// partState is the processing state of one owned partition.
type partState struct {
	p int32
	// pending lists fetched offsets in order; those before head are
	// stored, pending[head] is the lowest unfinished one. Slot i belongs
	// to the record with sequence number base+i.
	pending []slot
	head    int
	base    uint64
	nextSeq uint64
	// next is the last fetched offset + 1 (-1 before the first fetch) and
	// epoch that record's leader epoch.
	next  int64
	epoch int32
	// unfinished counts fetched records not yet stored.
	unfinished int
	// keys holds the queue of each held key; the head holds the key.
	keys map[string]*keyQueue
	// active are the records with an attempt, retry or DLQ produce under
	// way, keyed or not.
	active map[*rec]struct{}
	// gone is set once the partition is revoked or lost: late completions
	// of its records change nothing.
	gone bool
	// dlqTurn holds, by sequence number, the records to dead-letter once
	// their turn comes (see nextTurn); turnFrom is where the search for
	// the next one resumes.
	dlqTurn  map[uint64]*rec
	turnFrom uint64
	// first is the first offset fetched (-1 before), where a rewind
	// goes back to when nothing was committed since.
	first int64
	// settled holds the offsets whose dead letter was already committed
	// when the partition was assigned (see settled.go).
	settled map[int64]bool
}

type keyQueue struct {
	recs []*rec
}

func newPartState(p int32) *partState {
	return &partState{
		p:      p,
		next:   -1,
		first:  -1,
		keys:   make(map[string]*keyQueue),
		active: make(map[*rec]struct{}),
	}
}

// watermark returns the offset to commit: the lowest unfinished one, or
// the last fetched + 1 when everything fetched is stored.
func (ps *partState) watermark() (off int64, epoch int32, ok bool) {
	if ps.head < len(ps.pending) {
		s := ps.pending[ps.head]
		return s.off, s.epoch, true
	}
	if ps.next < 0 {
		return 0, 0, false
	}
	return ps.next, ps.epoch, true
}

// markDone records that r is stored and moves past the stored prefix.
func (ps *partState) markDone(r *rec) {
	ps.pending[r.seq-ps.base].done = true
	ps.unfinished--
	for ps.head < len(ps.pending) && ps.pending[ps.head].done {
		ps.head++
	}
	switch {
	case ps.head == len(ps.pending):
		ps.base += uint64(ps.head)
		ps.pending = ps.pending[:0]
		ps.head = 0
	case ps.head >= 1024 && 2*ps.head >= len(ps.pending):
		// Compact now and then so the slice does not grow without
		// bound behind a record held at the head for a while.
		ps.base += uint64(ps.head)
		ps.pending = ps.pending[:copy(ps.pending, ps.pending[ps.head:])]
		ps.head = 0
	}
}

// dispatch takes polled records into the pipeline: records of an unheld
// key are processed inline; the others queue behind their key.
func (c *Consumer) dispatch(fs kgo.Fetches) {
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
		if r.key != "" {
			if q := ps.keys[r.key]; q != nil {
				q.recs = append(q.recs, r)
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

// newRec decodes kr. A record that fails to decode is kept with the reason
// so that it is dead-lettered in its turn.
func (c *Consumer) newRec(ps *partState, kr *kgo.Record) *rec {
	r := &rec{part: ps, seq: ps.nextSeq, kr: kr}
	ps.nextSeq++
	r.msg = event.Message{
		Status:     event.StatusQueued,
		Source:     event.SourceKafka,
		ConsumerID: c.cfg.ConsumerID,
		Topic:      kr.Topic,
		Partition:  kr.Partition,
		Offset:     kr.Offset,
		QueuedAt:   kr.Timestamp.UTC(),
	}
	meta := record.ParseMeta(kr.Headers)
	if meta.Source != "" {
		r.msg.Source = meta.Source
	}
	r.msg.RequestID = meta.RequestID
	r.msg.ReplayOf = meta.ReplayOf
	r.timeFilled = meta.TimestampFilled
	ev, err := event.Decode(kr.Value)
	if err != nil {
		r.invalid = err.Error()
		r.msg.EventID = recordID(kr)
		r.msg.UserID, r.msg.EventType, r.msg.ElementID = partialFields(kr.Value)
		if len(kr.Key) > 0 {
			r.key = string(kr.Key)
		}
		return r
	}
	if ev.EventID == "" {
		ev.EventID = meta.ReplayEventID
		if ev.EventID == "" {
			ev.EventID = recordID(kr)
		}
	}
	if ev.Timestamp.IsZero() {
		// The record's own time stands in for the event's, under the
		// same bounds: a producer may set any (franz-go also wraps one
		// past the year 2262 into the past, which the bounds mostly
		// catch).
		if err := event.CheckTimestamp(kr.Timestamp); err != nil {
			r.invalid = "timestamp: absent from the event, and the Kafka record's own " + strings.TrimPrefix(err.Error(), "timestamp: ")
			r.msg.EventID = ev.EventID
			r.msg.UserID, r.msg.EventType, r.msg.ElementID = ev.UserID, ev.EventType, ev.ElementID
			if len(kr.Key) > 0 {
				r.key = string(kr.Key)
			} else {
				r.key = string(ev.Key())
			}
			return r
		}
		ev.Timestamp = kr.Timestamp.UTC()
	}
	r.ev = ev
	r.msg.EventID = ev.EventID
	r.msg.UserID = ev.UserID
	r.msg.EventType = ev.EventType
	r.msg.ElementID = ev.ElementID
	if len(kr.Key) > 0 {
		r.key = string(kr.Key)
	} else {
		r.key = string(ev.Key())
	}
	return r
}

// recordID derives the event_id of kr, which carries none.
func recordID(kr *kgo.Record) string {
	ref := event.RecordRef{
		Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset,
		Timestamp: kr.Timestamp, Key: kr.Key, Value: kr.Value,
	}
	if len(kr.Headers) > 0 {
		ref.Headers = make([]event.Header, len(kr.Headers))
		for i, h := range kr.Headers {
			ref.Headers[i] = event.Header{Key: h.Key, Value: h.Value}
		}
	}
	return event.RecordID(ref)
}

// partialFields picks user_id, event_type and element_id out of a record
// that failed validation, where they are sane strings, so the
// dead-lettered message says whose it was.
func partialFields(value []byte) (userID, eventType, elementID string) {
	if len(value) > event.MaxRecordBytes {
		return "", "", ""
	}
	var p struct {
		UserID    json.RawMessage `json:"user_id"`
		EventType json.RawMessage `json:"event_type"`
		ElementID json.RawMessage `json:"element_id"`
	}
	if json.Unmarshal(value, &p) != nil {
		return "", "", ""
	}
	str := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) != nil || len(s) > event.MaxIDLen || !utf8.ValidString(s) {
			return ""
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return ""
		}
		return s
	}
	return str(p.UserID), str(p.EventType), str(p.ElementID)
}

// begin starts r's next attempt (or its dead-lettering, when it did not
// decode). It reports whether r let go of its key at once: it finished, or
// is on its way to the DLQ; otherwise r now holds its key until a timer
// moves it on. Called with mu held.
func (c *Consumer) begin(r *rec, now time.Time) bool {
	if r.invalid != "" {
		c.deadLetter(r, r.invalid, now)
		return true
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
	now := time.Now()
	if step(r, now) {
		c.release(r)
	}
	c.m.heldKeys.Set(float64(c.held))
	c.unlock()
}

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
	c.nextTurn(r.part)
}

// produceDLQ produces r to the DLQ topic in the open DLQ transaction,
// beginning one if none is open, or queues it for the next transaction
// while the open one is closing. Called without mu: the client may call
// back at once.
func (c *Consumer) produceDLQ(r *rec) {
	if c.finishSettled(r) {
		return
	}
	c.txnMu.Lock()
	defer c.txnMu.Unlock()
	c.mu.Lock()
	if r.state != stDeadLettering || c.stopped {
		c.mu.Unlock()
		return
	}
	if c.txn.closing && !r.inTxn {
		c.txn.waiting = append(c.txn.waiting, r)
		c.mu.Unlock()
		return
	}
	r.inTxn = true
	c.txn.pending++
	p := r.kr.Partition
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
		if err := c.cl.BeginTransaction(); err != nil {
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
	c.cl.TryProduce(c.prodCtx, out, func(_ *kgo.Record, err error) { c.onDLQ(r, size, err) })
}

// finishSettled finishes r as dead-lettered when its dead letter was
// already committed before its partition was assigned (settled.go), and
// reports whether it did. Called without mu and txnMu: unlock may produce
// the next dead letter.
func (c *Consumer) finishSettled(r *rec) bool {
	c.mu.Lock()
	if r.state != stDeadLettering || c.stopped || r.inTxn || !r.part.settled[r.kr.Offset] {
		c.mu.Unlock()
		return false
	}
	c.log.Info("dead letter already committed; not sent again", "event_id", r.msg.EventID,
		"partition", r.kr.Partition, "offset", r.kr.Offset)
	c.m.dlqSettled.Inc()
	c.finish(r, event.StatusDeadLettered)
	c.release(r)
	c.m.heldKeys.Set(float64(c.held))
	c.unlock()
	return true
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
	if err != nil {
		if (errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)) && size > innocentDLQBytes {
			// The DLQ will never take this record: retry with less of
			// it (record.Shrink), so the partition is not stuck forever.
			r.dlqShrink = min(r.dlqShrink+1, 4)
		}
		r.dlqTries++
		d := c.backoff(r.dlqTries)
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

// abandon stops processing on ps: timers are stopped and queued records
// dropped; none of them will be stored, so the watermark stays below them.
// Records already finished stay in the writer queue. It returns the number
// of records abandoned. Called with mu held.
func (c *Consumer) abandon(ps *partState) int {
	n := 0
	for r := range ps.active {
		c.stopTimer(r.timer)
		r.timer = nil
		r.state = stAbandoned
		n++
	}
	clear(ps.active)
	for _, q := range ps.keys {
		for _, r := range q.recs {
			if r.state == stQueued {
				r.state = stAbandoned
				n++
			}
		}
		c.held--
	}
	clear(ps.keys)
	clear(ps.dlqTurn)
	c.m.heldKeys.Set(float64(c.held))
	return n
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
