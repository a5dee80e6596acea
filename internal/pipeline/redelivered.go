package pipeline

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// Records delivered again that were already completed.
//
// The group commits a partition's lowest unfinished offset, so after a
// crash or a rebalance the new owner is given again the records stored
// above it (those behind a slow or retrying record, and a commit
// interval's worth). They used to be processed again, delays and all,
// and only the store's write found them duplicates. Now, when partitions
// are assigned, the member reads where the store's records end
// (Positions, one small query); a fetched record below that may be
// stored already, and the member asks the store (Finished, one query per
// poll over the event_id index, for those records only). One stored as
// completed, from this very record, settles at once without being
// processed again. A dead-lettered one is processed again: its dead
// letter may have been in a DLQ transaction that aborted (the
// transaction ends after the row is written), and settled.go finds those
// whose dead letter was committed. A failed or slow look-up processes
// them again, as before, and the store settles them as duplicates.
//
// A rewind gives records back to the group on purpose, to process again:
// a completed record that a rewind marker covers since it finished (the
// rule the message timeline's "processed again" stage follows,
// event.RewindsOf) is processed again, not settled, even when the member
// that was given it is not the one the rewind moved (a rebalance came
// between, or the rewound group was empty).

// storedLookupWait bounds the look-up of one poll.
const storedLookupWait = 2 * time.Second

// storedAlready returns, by event id, the processing-log rows of the
// records of fs below their partition's stored position, where they may
// be stored already; nil when there are none. Called from the poll loop,
// without mu, before dispatch.
func (c *Consumer) storedAlready(ctx context.Context, fs kgo.Fetches) map[string]store.Finished {
	if c.retryLog == nil {
		return nil
	}
	var again []*kgo.Record
	c.mu.Lock()
	// Once every partition is fetched past its stored position (the
	// usual case), the poll's records are not even looked at. A
	// partition not fetched yet (next -1) is behind only when the store
	// holds records of it.
	behind := false
	for _, ps := range c.parts {
		if max(ps.next, 0) < ps.storedUntil {
			behind = true
			break
		}
	}
	if !behind {
		c.mu.Unlock()
		return nil
	}
	fs.EachRecord(func(kr *kgo.Record) {
		ps := c.parts[kr.Partition]
		if ps == nil || kr.Topic != c.cfg.Topic || kr.Offset >= ps.storedUntil || kr.Attrs.IsControl() ||
			(ps.next >= 0 && kr.Offset < ps.next) {
			return
		}
		again = append(again, kr)
	})
	c.mu.Unlock()
	if len(again) == 0 {
		return nil
	}
	out := make(map[string]store.Finished, len(again))
	scratch := newPartState(-1)
	for len(again) > 0 {
		n := min(len(again), store.MaxLimit)
		ids := make([]string, n)
		for i, kr := range again[:n] {
			// Decoded twice, these records only: the id is the one
			// dispatch will give the record.
			ids[i] = c.newRec(scratch, kr).msg.EventID
		}
		again = again[n:]
		lctx, cancel := context.WithTimeout(ctx, storedLookupWait)
		found, err := c.retryLog.Finished(lctx, ids)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("could not look up records delivered again; processing them again", "records", n, "err", err)
			}
			continue
		}
		for _, f := range found {
			out[f.EventID] = f
		}
	}
	c.dropRewound(ctx, out)
	return out
}

// markerReader is the store's read of the operational markers.
type markerReader interface {
	Markers(ctx context.Context, from, to time.Time, limit int) ([]event.Marker, error)
}

// rewindMarkerLimit bounds the markers one look-up reads.
const rewindMarkerLimit = 1000

// dropRewound removes from stored the completed rows that a rewind gave
// back to the group since they finished, so that their records are
// processed again. The markers read are those since the oldest of them
// finished; when there are more than rewindMarkerLimit, every completed
// row is processed again (the store keeps one row whatever happens), and
// a failed read leaves them settled as before.
func (c *Consumer) dropRewound(ctx context.Context, stored map[string]store.Finished) {
	mr, ok := c.sink.(markerReader)
	if !ok {
		return
	}
	var oldest time.Time
	for _, f := range stored {
		if f.Status == event.StatusCompleted && f.CompletedAt != nil && (oldest.IsZero() || f.CompletedAt.Before(oldest)) {
			oldest = *f.CompletedAt
		}
	}
	if oldest.IsZero() {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, storedLookupWait)
	ms, err := mr.Markers(lctx, oldest, time.Now().Add(time.Minute), rewindMarkerLimit)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("could not read the rewind markers; records stored already are settled even if a rewind gave them back", "err", err)
		}
		return
	}
	all := len(ms) >= rewindMarkerLimit
	for id, f := range stored {
		if f.Status != event.StatusCompleted || f.CompletedAt == nil {
			continue
		}
		if all || len(event.RewindsOf(ms, f.Topic, f.Partition, f.Offset, *f.CompletedAt)) > 0 {
			delete(stored, id)
		}
	}
}

// settleStored finishes r, fetched again, without processing it when the
// store already holds it completed from this very record, and reports
// whether it did. Called with mu held, r just dispatched.
func (c *Consumer) settleStored(r *rec, stored map[string]store.Finished) bool {
	f, ok := stored[r.msg.EventID]
	if !ok || f.Status != event.StatusCompleted || r.invalid != "" ||
		f.Topic != r.kr.Topic || f.Partition != r.kr.Partition || f.Offset != r.kr.Offset {
		return false
	}
	r.state = stDone
	r.part.markDone(r)
	c.inFlight--
	c.stats.duplicates++
	c.m.duplicate.Inc()
	c.m.skipped.Inc()
	c.fx.settled = append(c.fx.settled, r.msg.EventID)
	c.nextTurn(r.part)
	return true
}

// takeDeadLettered gives r, fetched again, the attempts of its stored
// dead-lettered row when its budget was spent: its dead letter's
// transaction aborted after the row was written (the row's write also
// deleted its retry state), and r is dead-lettered again at once with
// those attempts rather than tried 4 more times. Called with mu held.
func (c *Consumer) takeDeadLettered(r *rec, stored map[string]store.Finished) {
	f, ok := stored[r.msg.EventID]
	if !ok || f.Status != event.StatusDeadLettered || r.invalid != "" || len(f.Attempts) <= f.Retries ||
		f.Topic != r.kr.Topic || f.Partition != r.kr.Partition || f.Offset != r.kr.Offset {
		return
	}
	r.resumed = &store.Retry{
		Topic: f.Topic, Partition: f.Partition, Offset: f.Offset, EventID: f.EventID,
		Retries: f.Retries, Attempts: f.Attempts,
	}
}
