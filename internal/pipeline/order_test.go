package pipeline

import (
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
)

// TestRetryHoldsItsKeyInOrder: while a record waits between attempts,
// later records of its key wait behind it, even though the key has no
// attempt running; another key on the same partition flows past. The
// failing record's retries last long enough (4 attempts, 100-200 ms
// apart) that a later record overtaking it would start well before it
// gives up.
func TestRetryHoldsItsKeyInOrder(t *testing.T) {
	e := newEnv(t)
	bad := userEvent("f", "alice", event.TypeButtonClick)
	bad["should_fail"] = true
	e.produce(
		eventRecord(t, 0, bad),
		eventRecord(t, 0, userEvent("g1", "alice", event.TypeButtonClick)),
		eventRecord(t, 0, userEvent("h", "bob", event.TypePageView)),
		eventRecord(t, 0, userEvent("g2", "alice", event.TypeButtonClick)),
	)
	cfg := e.config("c1")
	cfg.RetryBase = 100 * time.Millisecond
	cfg.RetryMax = 200 * time.Millisecond
	e.start(cfg, nil)

	eventually(t, 10*time.Second, "the failing record dead-lettered and the other three stored", func() bool {
		n := 0
		for _, id := range []string{"f", "g1", "h", "g2"} {
			if _, ok := e.message(id); ok {
				n++
			}
		}
		return n == 4
	})
	f, _ := e.message("f")
	g1, _ := e.message("g1")
	g2, _ := e.message("g2")
	h, _ := e.message("h")
	if f.Status != event.StatusDeadLettered || f.Retries != 3 || len(f.Attempts) != 4 {
		t.Fatalf("failing record: %s after %d retries and %d attempts, want dead_lettered after 3 retries, 4 attempts", f.Status, f.Retries, len(f.Attempts))
	}
	// The record's processing ends with its last failed attempt; its
	// dead letter may still be on its way to the DLQ after that.
	gaveUp := f.Attempts[3].EndedAt
	for _, later := range []event.Message{g1, g2} {
		if later.StartedAt.Before(gaveUp) {
			t.Errorf("%s of the same key started at %s, before the retrying record gave up at %s",
				later.EventID, later.StartedAt.Format(time.StampMicro), gaveUp.Format(time.StampMicro))
		}
	}
	if g2.StartedAt.Before(*g1.CompletedAt) {
		t.Errorf("g2 started at %s, before g1 of the same key completed at %s", g2.StartedAt, g1.CompletedAt)
	}
	if !h.CompletedAt.Before(gaveUp) {
		t.Errorf("h, another key, completed at %s, after the failing record gave up at %s: it was held back", h.CompletedAt, gaveUp)
	}
}

// A record queued behind a held key is announced as queued, naming the
// record it waits for and its place in line, so the dashboard can show it
// (Button 1 behind Button 4's delay) instead of nothing until its turn;
// once it starts, it no longer says so.
func TestWaitingBehindAHeldKeyIsAnnounced(t *testing.T) {
	e := newEnv(t)
	slow := userEvent("slow", "alice", event.TypeButtonClick)
	slow["element_id"] = "button_4"
	slow["delay_seconds"] = 0.5
	e.produce(
		eventRecord(t, 0, slow),
		eventRecord(t, 0, userEvent("next", "alice", event.TypeButtonClick)),
		eventRecord(t, 0, userEvent("after", "alice", event.TypeButtonClick)),
		eventRecord(t, 0, userEvent("other", "alice", event.TypePageView)), // another key: alice:page_view
	)
	run := e.start(e.config("c1"), nil)
	// A record's completion is published after its batch is stored, so
	// the store's count alone does not say it was.
	eventually(t, 10*time.Second, "all four stored and published completed", func() bool {
		if e.eventCount() != 4 {
			return false
		}
		for _, id := range []string{"next", "after", "other"} {
			states := run.pub.messagesOf(id)
			if len(states) == 0 || states[len(states)-1].Status != event.StatusCompleted {
				return false
			}
		}
		return true
	})

	for id, position := range map[string]int{"next": 1, "after": 2} {
		states := run.pub.messagesOf(id)
		if len(states) < 2 {
			t.Fatalf("%s was published %d times: %+v", id, len(states), states)
		}
		first, last := states[0], states[len(states)-1]
		w := first.WaitingBehind
		if first.Status != event.StatusQueued || w == nil || w.EventID != "slow" || w.ElementID != "button_4" ||
			w.Key != "alice:button_click" || w.Position != position {
			t.Errorf("%s first published as %s waiting behind %+v; want queued behind slow (button_4) on alice:button_click, %d in line",
				id, first.Status, w, position)
		}
		if last.Status != event.StatusCompleted || last.WaitingBehind != nil {
			t.Errorf("%s last published as %s waiting behind %+v; want completed, waiting for nothing", id, last.Status, last.WaitingBehind)
		}
	}
	for _, m := range run.pub.messagesOf("other") {
		if m.WaitingBehind != nil {
			t.Errorf("other (another key) published waiting behind %+v", m.WaitingBehind)
		}
	}
}
