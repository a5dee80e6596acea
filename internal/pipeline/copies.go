package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// Copies of one event get one dead letter.
//
// A client that retries a request whose answer it lost (the server was
// killed between writing the record and answering) sends the same event
// twice, with its event_id: two records. For an event that is stored the
// second settles as a duplicate; for one that fails, both used to be
// dead-lettered (40 of 2,600 failing events in TestServeSIGKILLUnderLoad
// under load). So before a record is dead-lettered, the member looks for a
// dead letter of the same event from a lower offset of the same
// partition: one it decided itself since the partition was assigned (sent
// or still waiting for its turn), or the store's dead_lettered row. Such a copy finishes as dead-lettered without
// a produce, its processing-log row saying whose copy it is.
//
// Only a lower offset of the same partition counts: that record is below
// this one in the commit order, so the partition's offset passes this copy
// only once the earlier one's dead letter is acknowledged, and then only
// in the transaction that makes it visible; if that transaction aborts,
// the partition is rewound below both. A failed or slow store read
// sends the dead letter: a copy may then be dead-lettered twice, never
// lost.

// copyLookupWait bounds the store read of one dead letter's check.
const copyLookupWait = 2 * time.Second

// messageFinder is the read a store offers for the check (both stores do).
type messageFinder interface {
	Messages(ctx context.Context, f store.MessageFilter) ([]event.Message, error)
}

// finishCopy finishes r as dead-lettered when an earlier copy of its
// event already has a dead letter, and reports whether it did. Called
// without mu and txnMu.
func (c *Consumer) finishCopy(r *rec) bool {
	if r.msg.IDDerived {
		return false // an id derived from the record names it alone
	}
	if r.suppressed {
		return false // its reason is the erasure, not the earlier copy's
	}
	c.mu.Lock()
	if r.state != stDeadLettering || c.stopped || r.inTxn {
		c.mu.Unlock()
		return false
	}
	first, found := r.part.deadIDs[r.msg.EventID]
	c.mu.Unlock()
	if !found || first >= r.kr.Offset {
		// This member knows of no earlier copy (the entry may be r's own).
		first, found = c.storedDeadLetter(r)
	}
	if !found || first >= r.kr.Offset {
		return false
	}
	c.mu.Lock()
	if r.state != stDeadLettering || c.stopped || r.inTxn {
		c.mu.Unlock()
		return false
	}
	r.msg.Error = fmt.Sprintf("a copy of this event (the same event_id and content) was dead-lettered from %s/%d/%d; this one was not sent again",
		r.kr.Topic, r.kr.Partition, first)
	c.log.Info("copy of a dead-lettered event; not sent again", "event_id", r.msg.EventID, "request_id", r.msg.RequestID,
		"partition", r.kr.Partition, "offset", r.kr.Offset, "first_offset", first)
	c.finishUnsent(r, c.m.dlqCopies)
	return true
}

// storedDeadLetter returns the offset of the stored dead_lettered row of
// r's event when it is a copy of r's event from r's partition.
func (c *Consumer) storedDeadLetter(r *rec) (int64, bool) {
	f, ok := c.sink.(messageFinder)
	if !ok {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(c.prodCtx, copyLookupWait)
	defer cancel()
	ms, err := f.Messages(ctx, store.MessageFilter{EventID: r.msg.EventID, Status: event.StatusDeadLettered, Limit: 1})
	if err != nil {
		c.log.Warn("could not look for an earlier dead letter of the event; sending it", "event_id", r.msg.EventID, "err", err)
		return 0, false
	}
	if len(ms) == 0 {
		return 0, false
	}
	m := ms[0]
	if m.Topic != r.kr.Topic || m.Partition != r.kr.Partition ||
		m.UserID != r.msg.UserID || m.EventType != r.msg.EventType || m.ElementID != r.msg.ElementID {
		return 0, false
	}
	return m.Offset, true
}
