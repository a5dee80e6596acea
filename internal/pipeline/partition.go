package pipeline

import "github.com/pulse-dev/pulse/internal/store"

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
	// settled maps the offsets whose dead letter was already committed
	// when the partition was assigned to the event id it names (see
	// settled.go).
	settled map[int64]string
	// deadIDs maps the event ids this member decided to dead-letter here
	// since the partition was assigned (or rewound) to the lowest offset
	// of each, so a later copy of the same event is not dead-lettered
	// again (see finishCopy).
	deadIDs map[string]int64
	// resume holds, by offset, the retry states read from the retry log
	// at assignment (or kept at a rewind), until their records come
	// (retrylog.go); storedUntil is where the store's records of the
	// partition ended then: records below it may be stored already
	// (redelivered.go).
	resume      map[int64]store.Retry
	storedUntil int64
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
