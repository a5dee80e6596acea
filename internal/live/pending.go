package live

import (
	"slices"

	"github.com/pulse-dev/pulse/internal/event"
)

const (
	// maxBatchEvents is the most events in one new_events frame: the
	// newest, with the rest counted in its dropped field. Sized for what a
	// person can follow, since every byte goes to every client: at the busy
	// interval 200 events a second reach each dashboard, whose feed turns
	// over its 500 rows every 2.5 s. 100 made each flush to 1,000 clients a
	// burst long enough to put a p99 of 310 ms on delivery (193-263 ms at
	// 50 over four runs of the bench's fan-out scenario).
	maxBatchEvents = 50
	// maxQueueMessages is the most messages in one queue_update frame: the
	// queue monitor shows 50 rows.
	// Updates of messages a client was shown in a non-final state are sent
	// first, so no row is left stuck as retrying.
	maxQueueMessages = 50
	// maxMarkers is the most marker frames one flush sends.
	maxMarkers = 20
)

// pending collects changes between flushes: the newest events (the rest
// only counted) and the latest state of each message.
type pending struct {
	events []event.Stored
	total  int
	msgs   []event.Message
	idx    map[string]int
	// markers are rare (a few an hour); each is its own frame.
	markers []event.Marker
	// keep marks messages that must not be sampled out: those clients
	// were shown in a non-final state.
	keep func(id string) bool
}

func (p *pending) add(c event.Change) {
	p.markers = append(p.markers, c.Markers...)
	if len(p.markers) > maxMarkers {
		p.markers = p.markers[len(p.markers)-maxMarkers:]
	}
	for _, e := range c.Events {
		p.total++
		p.events = append(p.events, e)
		if len(p.events) >= 2*maxBatchEvents {
			// Keep only the newest; amortised O(1) per event.
			n := copy(p.events, p.events[len(p.events)-maxBatchEvents:])
			clear(p.events[n:])
			p.events = p.events[:n]
		}
	}
	if len(c.Messages) == 0 {
		return
	}
	if p.idx == nil {
		p.idx = make(map[string]int)
	}
	for _, m := range c.Messages {
		if i, ok := p.idx[m.EventID]; ok && m.EventID != "" {
			p.msgs[i] = m
			continue
		}
		p.idx[m.EventID] = len(p.msgs)
		p.msgs = append(p.msgs, m)
		if len(p.msgs) >= 4*maxQueueMessages {
			p.msgs = p.sample(p.msgs, maxQueueMessages)
			clear(p.idx)
			for i, m := range p.msgs {
				p.idx[m.EventID] = i
			}
		}
	}
}

// queueFrame is what the next queue_update carries: every message
// or, when there are too many, the kept ones and the newest others.
func (p *pending) queueFrame() []event.Message {
	if len(p.msgs) <= maxQueueMessages {
		return p.msgs
	}
	return p.sample(slices.Clone(p.msgs), maxQueueMessages)
}

// sample keeps, in order, the messages p.keep asks for and the newest
// others, n in all unless more than n are kept. It reuses msgs.
func (p *pending) sample(msgs []event.Message, n int) []event.Message {
	kept := 0
	if p.keep != nil {
		for i := range msgs {
			if p.keep(msgs[i].EventID) {
				kept++
			}
		}
	}
	others := max(0, n-kept)
	skip := len(msgs) - kept - others // the oldest others to leave out
	out := msgs[:0]
	for i := range msgs {
		if p.keep != nil && p.keep(msgs[i].EventID) {
			out = append(out, msgs[i])
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, msgs[i])
	}
	clear(msgs[len(out):])
	return out
}

func (p *pending) reset() {
	p.events = nil
	p.total = 0
	p.msgs = nil
	p.markers = nil
	clear(p.idx)
}
