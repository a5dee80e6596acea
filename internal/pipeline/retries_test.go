package pipeline

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
)

// pending returns the retry log's states of partition p.
func (e *env) pending(p int32) []store.Retry {
	e.t.Helper()
	rs, err := e.db.PendingRetries(context.Background(), testTopic, p, 0)
	if err != nil {
		e.t.Fatalf("pending retries: %v", err)
	}
	return rs
}

// firstRetrySaved waits for the retry log to hold one state in partition
// 0, and returns it.
func (e *env) firstRetrySaved() store.Retry {
	e.t.Helper()
	var saved store.Retry
	eventually(e.t, 5*time.Second, "the first failure's retry state saved", func() bool {
		rs := e.pending(0)
		if len(rs) == 1 {
			saved = rs[0]
		}
		return len(rs) == 1
	})
	return saved
}

// A member that leaves mid-retry hands the retry over: the next owner
// waits for the due time the first one set, goes on with the budget left
// (4 attempts in all, not 4 more), and the dead-lettered row shows every
// attempt, those before the hand-over included. Other keys are not held
// back meanwhile, and the retry log is empty at the end.
func TestRetryResumesWithItsBudgetAndDueTime(t *testing.T) {
	e := newEnv(t)
	bad := userEvent("f", "alice", event.TypeButtonClick)
	bad["should_fail"] = true
	e.produce(eventRecord(t, 0, bad))

	// The first member's backoff is long: its first retry is due 4-8 s
	// after the first attempt.
	cfg := e.config("c1")
	cfg.RetryBase, cfg.RetryMax = 8*time.Second, 8*time.Second
	first := e.start(cfg, nil)
	saved := e.firstRetrySaved()
	if saved.EventID != "f" || saved.Retries != 1 || len(saved.Attempts) != 1 || saved.ConsumerID != "c1" ||
		saved.Attempts[0].NextRetryAt == nil || !saved.Attempts[0].NextRetryAt.Truncate(time.Microsecond).Equal(saved.NextRetryAt) {
		t.Fatalf("saved state = %+v, want event f, 1 retry due at its one attempt's next_retry_at, by c1", saved)
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if time.Now().After(saved.NextRetryAt) {
		t.Fatalf("the retry came due (%s) before the hand-over: make the first backoff longer", saved.NextRetryAt)
	}

	// The second member's backoff is short: started over, the record
	// would be dead-lettered within 100 ms.
	second := e.start(e.config("c2"), nil)
	// Another key's record, produced now, is stored while f waits.
	e.produce(eventRecord(t, 0, userEvent("other", "bob", event.TypePageView)))
	eventually(t, 5*time.Second, "another key's record stored", func() bool {
		_, ok := e.message("other")
		return ok
	})
	if _, ok := e.message("f"); ok || time.Now().After(saved.NextRetryAt) {
		t.Fatalf("f finished (%v) or its due time passed before another key's record was stored", ok)
	}
	// The dashboard (and the timeline of the message in flight) shows
	// the resumed retry with the attempt before the hand-over.
	live := second.pub.messagesOf("f")
	if len(live) == 0 || live[0].Status != event.StatusRetrying || len(live[0].Attempts) != 1 ||
		live[0].NextRetryAt == nil || !live[0].NextRetryAt.Equal(saved.NextRetryAt) {
		t.Fatalf("f published by the second member = %+v, want retrying with the first attempt, due at %s", live, saved.NextRetryAt)
	}
	eventually(t, 15*time.Second, "f dead-lettered", func() bool {
		m, ok := e.message("f")
		return ok && m.Status == event.StatusDeadLettered
	})
	m, _ := e.message("f")
	if m.Retries != 3 || len(m.Attempts) != 4 {
		t.Fatalf("f: %d retries, %d attempts, want 3 and 4 (the budget went on, not over)", m.Retries, len(m.Attempts))
	}
	if a := m.Attempts[0]; !a.StartedAt.Equal(saved.Attempts[0].StartedAt) || a.Error != ErrSimulated.Error() {
		t.Errorf("attempt 1 = %+v, want the first member's %+v", a, saved.Attempts[0])
	}
	if m.Attempts[1].StartedAt.Before(saved.NextRetryAt) {
		t.Errorf("attempt 2 started at %s, before its due time %s", m.Attempts[1].StartedAt, saved.NextRetryAt)
	}
	for i, a := range m.Attempts {
		want := "c2"
		if i == 0 {
			want = "c1"
		}
		if a.N != i+1 || a.ConsumerID != want {
			t.Errorf("attempt %d numbered %d, by %q; want by %s", i+1, a.N, a.ConsumerID, want)
		}
	}
	dl := e.readDLQ(1)
	if got, _ := header(dl[0], record.HeaderDLQAttempts); got != "4" {
		t.Errorf("dead letter attempts header = %q, want 4", got)
	}
	if rs := e.pending(0); len(rs) != 0 {
		t.Errorf("retry log after the dead letter = %+v, want empty", rs)
	}
}

// A record whose saved state has one retry left makes its last attempt
// at the due time and is dead-lettered with every attempt; one whose last
// attempt scheduled none is dead-lettered at once, without another; one
// whose state names another event (a reused offset) starts over.
func TestResumedRetryBudgetAndStaleState(t *testing.T) {
	e := newEnv(t)
	bad := userEvent("spent", "alice", event.TypeButtonClick)
	bad["should_fail"] = true
	other := userEvent("fresh", "bob", event.TypeButtonClick)
	other["should_fail"] = true
	over := userEvent("over", "carol", event.TypeButtonClick)
	over["should_fail"] = true
	rs := e.produce(eventRecord(t, 0, bad), eventRecord(t, 0, other), eventRecord(t, 0, over))

	due := time.Now().Add(time.Second).UTC()
	state := store.Retry{Topic: testTopic, Partition: 0, Offset: rs[0].Offset, EventID: "spent", Retries: 3, NextRetryAt: due, ConsumerID: "gone"}
	for i := 1; i <= 3; i++ {
		at := due.Add(time.Duration(i-4) * time.Minute)
		next := at.Add(time.Second)
		if i == 3 {
			next = due
		}
		state.Attempts = append(state.Attempts, event.Attempt{N: i, StartedAt: at, EndedAt: at, Error: "earlier failure " + strconv.Itoa(i), NextRetryAt: &next})
	}
	stale := store.Retry{Topic: testTopic, Partition: 0, Offset: rs[1].Offset, EventID: "someone-else", Retries: 3,
		NextRetryAt: due.Add(time.Hour), Attempts: state.Attempts, ConsumerID: "gone"}
	// Its fourth attempt failed and scheduled none: its dead letter's
	// transaction aborted before the crash.
	spent := store.Retry{Topic: testTopic, Partition: 0, Offset: rs[2].Offset, EventID: "over", Retries: 3,
		NextRetryAt: due, ConsumerID: "gone"}
	spent.Attempts = append(append([]event.Attempt{}, state.Attempts...),
		event.Attempt{N: 4, StartedAt: due, EndedAt: due, Error: "earlier failure 4", ConsumerID: "gone"})
	if err := e.db.SaveRetries(context.Background(), []store.Retry{state, stale, spent}); err != nil {
		t.Fatal(err)
	}
	e.start(e.config("c1"), nil)
	eventually(t, 5*time.Second, "all three dead-lettered", func() bool {
		n := 0
		for _, id := range []string{"spent", "fresh", "over"} {
			if m, ok := e.message(id); ok && m.Status == event.StatusDeadLettered {
				n++
			}
		}
		return n == 3
	})
	o, _ := e.message("over")
	if len(o.Attempts) != 4 || o.Attempts[3].Error != "earlier failure 4" || o.Error != "earlier failure 4" {
		t.Errorf("over: %d attempts, error %q; want its 4 saved attempts and no other, dead-lettered with the last one's error", len(o.Attempts), o.Error)
	}
	m, _ := e.message("spent")
	if len(m.Attempts) != 4 || m.Retries != 3 {
		t.Fatalf("spent: %d attempts, %d retries, want 4 and 3", len(m.Attempts), m.Retries)
	}
	if m.Attempts[2].Error != "earlier failure 3" || m.Attempts[3].Error != ErrSimulated.Error() {
		t.Errorf("attempts = %+v, want the 3 saved then this one", m.Attempts)
	}
	if m.Attempts[3].StartedAt.Before(due) {
		t.Errorf("last attempt at %s, before its due time %s", m.Attempts[3].StartedAt, due)
	}
	f, _ := e.message("fresh")
	if len(f.Attempts) != 4 || f.Attempts[0].Error != ErrSimulated.Error() {
		t.Errorf("fresh: %+v, want 4 attempts of its own (the stale state ignored)", f.Attempts)
	}
	if got := metricValue(t, e.metrics.resumed.WithLabelValues("c1")); got != 2 {
		t.Errorf("resumed metric = %v, want 2", got)
	}
	for _, dl := range e.readDLQ(3) {
		if got, _ := header(dl, record.HeaderDLQAttempts); got != "4" {
			t.Errorf("dead letter of offset %d: attempts header %q, want 4", originalCoordinate(dl, record.HeaderDLQOffset), got)
		}
	}
	if rs := e.pending(0); len(rs) != 0 {
		t.Errorf("retry log at the end = %+v, want empty", rs)
	}
}

// A record given again above the committed offset that the store holds
// completed is settled without being processed again: its delay does not
// run twice. One the store holds dead-lettered is processed again (its
// dead letter's transaction may have aborted).
func TestCompletedRedeliveryNotProcessedAgain(t *testing.T) {
	e := newEnv(t)
	slow := userEvent("slow", "dora", event.TypePageView)
	slow["delay_seconds"] = 3
	quick := userEvent("quick", "eve", event.TypePageView)
	quick["delay_seconds"] = 0.5
	e.produce(eventRecord(t, 0, slow), eventRecord(t, 0, quick))

	cfg := e.config("c1")
	cfg.DrainTimeout = 100 * time.Millisecond
	first := e.start(cfg, nil)
	eventually(t, 5*time.Second, "quick stored", func() bool {
		_, ok := e.message("quick")
		return ok
	})
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if got := e.committed()[0]; got != 0 {
		t.Fatalf("committed %d, want 0 (slow abandoned unfinished)", got)
	}

	second := e.start(e.config("c2"), nil)
	eventually(t, 5*time.Second, "quick settled by the second member", func() bool {
		for _, id := range second.pub.settled() {
			if id == "quick" {
				return true
			}
		}
		return false
	})
	for _, m := range second.pub.messagesOf("quick") {
		t.Errorf("quick processed again: %s", m.Status)
	}
	if got := metricValue(t, e.metrics.skipped.WithLabelValues("c2")); got != 1 {
		t.Errorf("redelivered-completed metric = %v, want 1", got)
	}
	eventually(t, 8*time.Second, "slow stored and everything committed", func() bool {
		_, ok := e.message("slow")
		return ok && e.committed()[0] == 2
	})
}
