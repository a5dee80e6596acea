package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// retryState is the state of a record at offset off of partition 2 after
// its n-th failed attempt, its next attempt due at base+n minutes.
func retryState(id string, off int64, n int) store.Retry {
	s := store.Retry{
		Topic: "user_events", Partition: 2, Offset: off, EventID: id,
		Retries: n, NextRetryAt: base.Add(time.Duration(n)*time.Minute + 123*time.Microsecond), ConsumerID: "c1",
		QueuedAt: base.Add(-time.Second), EventType: event.TypeButtonClick,
	}
	for i := 1; i <= n; i++ {
		started := base.Add(time.Duration(i) * time.Second)
		next := base.Add(time.Duration(i)*time.Minute + 123*time.Microsecond)
		s.Attempts = append(s.Attempts, event.Attempt{
			N: i, StartedAt: started, EndedAt: started.Add(5 * time.Millisecond),
			Error: "simulated failure (should_fail)", NextRetryAt: &next,
		})
	}
	return s
}

func pendingRetries(t *testing.T, s store.Store, partition int32, from int64) []store.Retry {
	t.Helper()
	got, err := s.PendingRetries(t.Context(), "user_events", partition, from)
	if err != nil {
		t.Fatalf("pending retries: %v", err)
	}
	for i := range got {
		got[i].UpdatedAt = time.Time{}
	}
	return got
}

func saveRetries(t *testing.T, s store.Store, states ...store.Retry) {
	t.Helper()
	if err := s.SaveRetries(t.Context(), states); err != nil {
		t.Fatalf("save retries: %v", err)
	}
}

// testRetries checks the retry log: what a consumer saves when an attempt
// fails comes back whole to the partition's next owner, a late save never
// sets a budget back, and the write of the finished record deletes it.
func testRetries(t *testing.T, s store.Store) {
	if got := pendingRetries(t, s, 2, 0); len(got) != 0 {
		t.Fatalf("pending retries of an empty store = %+v", got)
	}
	a1, b2 := retryState("a", 1, 1), retryState("b", 2, 2)
	other := retryState("c", 1, 1)
	other.Partition = 3
	saveRetries(t, s, b2, a1, other)
	if got, want := pendingRetries(t, s, 2, 0), []store.Retry{a1, b2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pending retries =\n%+v\nwant\n%+v", got, want)
	}

	// A save of an earlier failure landing late changes nothing; a later
	// one replaces the state, attempts and due time included.
	a2 := retryState("a", 1, 2)
	saveRetries(t, s, a2)
	saveRetries(t, s, a1)
	if got := pendingRetries(t, s, 2, 0); len(got) != 2 || !reflect.DeepEqual(got[0], a2) {
		t.Fatalf("after saves of retries 2 then 1, pending = %+v, want %+v first", got, a2)
	}
	// Two states of one record in one call: the later one wins.
	a3 := retryState("a", 1, 3)
	saveRetries(t, s, a3, a2)
	if got := pendingRetries(t, s, 2, 0); !reflect.DeepEqual(got[0], a3) {
		t.Fatalf("after one save of retries 3 and 2, pending = %+v, want %+v first", got[0], a3)
	}
	// Another event at the same offset (a topic recreated) replaces it.
	z := retryState("z", 1, 1)
	saveRetries(t, s, z)
	if got := pendingRetries(t, s, 2, 0); !reflect.DeepEqual(got[0], z) {
		t.Fatalf("another event's state at the offset: pending = %+v, want %+v first", got[0], z)
	}

	// Writing the finished record deletes its state, in the batch's
	// transaction; a record that never failed touches none.
	done := completed("b", event.TypeButtonClick, "x", event.SourceKafka)
	done.Message.Offset, done.Message.Retries, done.Message.Attempts = 2, 2, b2.Attempts
	never := completed("n", event.TypeButtonClick, "x", event.SourceKafka)
	never.Message.Offset = 1
	write(t, s, done, never)
	if got := pendingRetries(t, s, 2, 0); len(got) != 1 || got[0].Offset != 1 {
		t.Fatalf("after the write of the finished record at offset 2, pending = %+v, want offset 1 only", got)
	}
	dead := deadLettered("z", event.SourceKafka)
	dead.Message.Offset, dead.Message.Attempts = 1, z.Attempts
	write(t, s, dead)
	if got := pendingRetries(t, s, 2, 0); len(got) != 0 {
		t.Fatalf("after the write of the dead letter at offset 1, pending = %+v, want none", got)
	}

	// Reading from an offset deletes the states below it (committed
	// past) and keeps the others.
	saveRetries(t, s, retryState("d", 10, 1), retryState("e", 11, 1), retryState("f", 12, 1))
	if got := pendingRetries(t, s, 2, 11); len(got) != 2 || got[0].Offset != 11 || got[1].Offset != 12 {
		t.Fatalf("pending from 11 = %+v, want offsets 11 and 12", got)
	}
	if got := pendingRetries(t, s, 2, 0); len(got) != 2 {
		t.Fatalf("pending from 0 after reading from 11 = %+v, want offsets 11 and 12 (10 deleted)", got)
	}
	if got := pendingRetries(t, s, 3, 0); !reflect.DeepEqual(got, []store.Retry{other}) {
		t.Fatalf("pending of partition 3 = %+v, want %+v", got, other)
	}
}

// testFinished checks the look-up a consumer makes of records delivered
// again: which of them have a processing-log row, and as which record.
func testFinished(t *testing.T, s store.Store) {
	c := completed("done", event.TypeButtonClick, "x", event.SourceKafka)
	c.Message.Offset = 40
	dl := deadLettered("dead", event.SourceKafka)
	dl.Message.Offset = 41
	dl.Message.Attempts = retryState("dead", 41, 3).Attempts
	write(t, s, c, dl)
	got, err := s.Finished(t.Context(), []string{"dead", "never", "done"})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b store.Finished) int { return strings.Compare(a.EventID, b.EventID) })
	want := []store.Finished{
		{EventID: "dead", Status: event.StatusDeadLettered, Topic: "user_events", Partition: 2, Offset: 41,
			Retries: 3, Attempts: dl.Message.Attempts, CompletedAt: dl.Message.CompletedAt},
		{EventID: "done", Status: event.StatusCompleted, Topic: "user_events", Partition: 2, Offset: 40, CompletedAt: c.Message.CompletedAt},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("finished = %+v, want %+v", got, want)
	}
	if got, err := s.Finished(t.Context(), nil); err != nil || len(got) != 0 {
		t.Fatalf("finished of no ids = %+v, %v", got, err)
	}
	many := make([]string, store.MaxLimit+1)
	for i := range many {
		many[i] = fmt.Sprint("id-", i)
	}
	if _, err := s.Finished(t.Context(), many); err == nil {
		t.Fatalf("finished of %d ids: no error", len(many))
	}
	if got, err := s.Finished(t.Context(), many[:store.MaxLimit]); err != nil || len(got) != 0 {
		t.Fatalf("finished of %d unknown ids = %+v, %v", store.MaxLimit, got, err)
	}
}

// testRetryTimeline checks that a message whose retry no member holds yet
// (its owner crashed) has a timeline, from the retry log, until its
// finished row replaces it.
func testRetryTimeline(t *testing.T, s ExplorerStore) {
	saved := retryState("waiting", 7, 2)
	saved.Attempts[1].ConsumerID = "c2"
	saveRetries(t, s, saved)
	m, e, err := s.Message(t.Context(), "waiting")
	if err != nil {
		t.Fatalf("Message of a retry no member holds: %v", err)
	}
	last := saved.Attempts[1].StartedAt
	want := event.Message{
		EventID: "waiting", EventType: event.TypeButtonClick, Status: event.StatusRetrying, ConsumerID: "c1",
		Topic: "user_events", Partition: 2, Offset: 7, QueuedAt: saved.QueuedAt, StartedAt: &last,
		Retries: 2, NextRetryAt: &saved.NextRetryAt, Error: saved.Attempts[1].Error, Attempts: saved.Attempts,
	}
	if e != nil || !reflect.DeepEqual(m, want) {
		t.Fatalf("Message of a retry = %+v, %+v\nwant %+v", m, e, want)
	}
	done := deadLettered("waiting", event.SourceKafka)
	done.Message.Offset, done.Message.Attempts = 7, saved.Attempts
	write(t, s, done)
	if m, _, err := s.Message(t.Context(), "waiting"); err != nil || m.Status != event.StatusDeadLettered || m.ID == 0 {
		t.Fatalf("Message after the dead letter = %+v, %v; want the stored row", m, err)
	}
}
