package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// The processing log keeps what the per-message timeline shows: when each
// record was fetched, every failed attempt with its next retry, and the
// DLQ record a replay came from. A replay that completes replaces the dead
// letter, and what the pipeline publishes says so.
func TestTimelineFields(t *testing.T) {
	e := newEnv(t)
	bad := userEvent("fail-1", "mallory", event.TypeButtonClick)
	bad["should_fail"] = true
	before := time.Now()
	e.produce(
		eventRecord(t, 0, userEvent("ok-1", "alice", event.TypePageView)),
		eventRecord(t, 0, bad),
	)
	c := e.start(e.config("c1"), nil)

	eventually(t, 5*time.Second, "ok-1 stored and fail-1 dead-lettered", func() bool {
		_, ok := e.message("ok-1")
		m, dead := e.message("fail-1")
		return ok && dead && m.Status == event.StatusDeadLettered
	})
	ok, _ := e.message("ok-1")
	if ok.FetchedAt == nil || ok.FetchedAt.Before(before) || ok.StartedAt.Before(*ok.FetchedAt) {
		t.Errorf("ok-1 fetched_at = %v, started_at %v; want a fetch time after the produce and before the start", ok.FetchedAt, ok.StartedAt)
	}
	if ok.Attempts != nil || ok.ReplayOf != "" {
		t.Errorf("ok-1 attempts %+v, replay_of %q; want none", ok.Attempts, ok.ReplayOf)
	}

	dead, _ := e.message("fail-1")
	if dead.FetchedAt == nil {
		t.Errorf("fail-1 fetched_at is nil")
	}
	const attempts = DefaultMaxRetries + 1
	if len(dead.Attempts) != attempts {
		t.Fatalf("fail-1 attempts = %+v, want %d", dead.Attempts, attempts)
	}
	for i, a := range dead.Attempts {
		if a.N != i+1 || a.Error != ErrSimulated.Error() || a.EndedAt.Before(a.StartedAt) {
			t.Errorf("attempt %d = %+v", i, a)
		}
		last := i == attempts-1
		if (a.NextRetryAt == nil) != last {
			t.Errorf("attempt %d next_retry_at = %v; want one on every attempt but the last", i, a.NextRetryAt)
		}
		if !last && (a.NextRetryAt.Before(a.EndedAt) || dead.Attempts[i+1].StartedAt.Before(*a.NextRetryAt)) {
			t.Errorf("attempt %d ended %s, next retry %s, next attempt started %s; want them in order",
				i, a.EndedAt, a.NextRetryAt, dead.Attempts[i+1].StartedAt)
		}
	}
	// Each published retrying state lists the attempts up to it: a later
	// attempt does not show up in a state published before it.
	n := 0
	for _, m := range c.pub.messagesOf("fail-1") {
		if m.Status == event.StatusRetrying {
			n++
			if len(m.Attempts) != n || m.Attempts[n-1].NextRetryAt == nil || !m.Attempts[n-1].NextRetryAt.Equal(*m.NextRetryAt) {
				t.Errorf("retrying state %d attempts = %+v, next_retry_at %v", n, m.Attempts, m.NextRetryAt)
			}
		}
	}
	if n != DefaultMaxRetries {
		t.Errorf("published %d retrying states, want %d", n, DefaultMaxRetries)
	}

	// The replay: the same event without should_fail, marked as the ops
	// console marks it.
	replayOf := fmt.Sprintf("%s/0/0", testDLQ)
	e.produce(eventRecord(t, 0, userEvent("fail-1", "mallory", event.TypeButtonClick), record.HeaderReplayOf, replayOf))
	// Its completion is published after it is stored: wait for both.
	eventually(t, 5*time.Second, "the replay of fail-1 completed and published", func() bool {
		m, _ := e.message("fail-1")
		states := c.pub.messagesOf("fail-1")
		return m.Status == event.StatusCompleted && len(states) > 0 && states[len(states)-1].Status == event.StatusCompleted
	})
	m, _ := e.message("fail-1")
	if m.ReplayOf != replayOf || m.Attempts != nil || m.Error != "" || m.FetchedAt == nil {
		t.Errorf("replayed message = %+v; want replay_of %q, no attempts, no error", m, replayOf)
	}
	var published bool
	for _, pm := range c.pub.messagesOf("fail-1") {
		published = published || (pm.Status == event.StatusCompleted && pm.ReplayOf == replayOf)
	}
	if !published {
		t.Errorf("the completed replay was not published with replay_of")
	}
	tot, err := e.db.Totals(t.Context(), time.Time{})
	if err != nil {
		t.Fatalf("Totals: %v", err)
	}
	if tot.Messages[event.StatusCompleted] != 2 || tot.Messages[event.StatusDeadLettered] != 0 || tot.Events != 2 {
		t.Errorf("totals after the replay = %+v; want 2 completed, no dead letter, 2 events", tot)
	}
}
