package collect

import (
	"context"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/store"
)

// Plans gives the tracking plan in force (plan.Registry).
type Plans interface {
	Current() (*plan.Plan, error)
}

// warnKey is one warnings row.
type warnKey struct {
	sourceID, eventType, problem string
}

// maxPendingWarnings bounds the warning rows waiting for a flush: past
// it, a new row is not kept (its counts are in the ledger's rejected
// and in the metrics still). Made-up event types are the one way there.
const maxPendingWarnings = 1000

// planWarning notes one event that broke the plan, in a request's list;
// commitWarnings adds the list once the request's events are in Kafka,
// so a batch answered 503 (and sent again) counts once.
func planWarning(list []store.PlanWarning, src store.Source, eventType string, p *plan.Problem, raw []byte, rejected bool, now time.Time) []store.PlanWarning {
	w := store.PlanWarning{SourceID: src.ID, EventType: eventType, Problem: p.Key, Field: p.Field, Reason: p.Reason,
		Example: example(raw), FirstAt: now, LastAt: now}
	if rejected {
		w.Rejected = 1
	} else {
		w.Warned = 1
	}
	return append(list, w)
}

// example is the event as sent, or, beyond store.MaxWarningExample
// bytes, its start as a JSON string.
func example(raw []byte) json.RawMessage {
	if len(raw) <= store.MaxWarningExample {
		return append(json.RawMessage(nil), raw...)
	}
	cut := raw[:store.MaxWarningExample]
	for len(cut) > 0 && !utf8.Valid(cut) {
		cut = cut[:len(cut)-1]
	}
	b, _ := json.Marshal(string(cut) + "…")
	return b
}

// commitWarnings adds a request's warnings to those waiting to be
// written.
func (c *Collector) commitWarnings(ws []store.PlanWarning) {
	if len(ws) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range ws {
		k := warnKey{w.SourceID, w.EventType, w.Problem}
		p, ok := c.warnings[k]
		if !ok {
			if len(c.warnings) >= maxPendingWarnings {
				c.metrics.warningsDropped.Inc()
				continue
			}
			c.warnings[k] = w
			continue
		}
		p.Warned += w.Warned
		p.Rejected += w.Rejected
		p.Field, p.Reason, p.Example, p.LastAt = w.Field, w.Reason, w.Example, w.LastAt
		c.warnings[k] = p
	}
}

// flushWarnings writes the warnings waiting; those that could not be
// written wait for the next flush.
func (c *Collector) flushWarnings(ctx context.Context) {
	c.mu.Lock()
	taken := c.warnings
	c.warnings = make(map[warnKey]store.PlanWarning, len(taken))
	c.mu.Unlock()
	if len(taken) == 0 {
		return
	}
	ws := make([]store.PlanWarning, 0, len(taken))
	for _, w := range taken {
		ws = append(ws, w)
	}
	if err := c.sink.AddPlanWarnings(ctx, ws); err != nil {
		c.log.Warn("writing the tracking plan's warnings failed; keeping them for the next try", "err", err)
		// Back in front of what came since: the older first time stays.
		c.mu.Lock()
		newer := c.warnings
		c.warnings = taken
		c.mu.Unlock()
		c.commitWarnings(mapValues(newer))
	}
}

func mapValues(m map[warnKey]store.PlanWarning) []store.PlanWarning {
	out := make([]store.PlanWarning, 0, len(m))
	for _, w := range m {
		out = append(out, w)
	}
	return out
}
