package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// TestCommittedDeadLetterNotSentAgain: the embedded broker ends a
// transaction in steps (the commit markers, then the group's offsets), and
// a SIGKILL of serve between them left dead letters visible with the
// group's offsets behind them; their records were dead-lettered again
// (30 of 2,200 failing events in TestServeSIGKILLUnderLoad under load).
// Here the group's offsets are moved back by hand after the transaction.
func TestCommittedDeadLetterNotSentAgain(t *testing.T) {
	e := newEnv(t)
	bad := &kgo.Record{Topic: testTopic, Partition: 1, Value: []byte("not json")}
	good := eventRecord(t, 1, userEvent("after-the-dead-letter", "u1", "click"))
	e.produce(bad, good)

	first := e.start(e.config("c1"), nil)
	eventually(t, 10*time.Second, "the malformed record dead-lettered", func() bool { return len(e.messages(event.StatusDeadLettered)) == 1 })
	eventually(t, 10*time.Second, "the first member committed past both records", func() bool { return e.committed()[1] == 2 })
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	e.resetGroup() // what the broker's crash did to the transaction's offset commit

	second := e.start(e.config("c2"), nil)
	eventually(t, 10*time.Second, "the second member committed past both records", func() bool { return e.committed()[1] == 2 })
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}
	if dl := e.allDLQ(); len(dl) != 1 {
		t.Errorf("DLQ holds %d dead letters of the one malformed record, want 1", len(dl))
	}
	if got := metricValue(t, second.m.dlqSettled); got != 1 {
		t.Errorf("pulse_pipeline_dlq_already_committed_total = %v, want 1", got)
	}
	if got := e.messages(event.StatusDeadLettered); len(got) != 1 {
		t.Errorf("processing log: %d dead_lettered rows, want the malformed record's one", len(got))
	}
}

// TestCopiesOfAFailingEventGetOneDeadLetter: a client's retry of a
// request whose answer it lost writes the event twice; both copies of a
// failing event were dead-lettered (40 of 2,600 in TestServeSIGKILLUnderLoad
// under load). The member finds the first copy's dead letter itself, or,
// after a restart, in the store.
func TestCopiesOfAFailingEventGetOneDeadLetter(t *testing.T) {
	e := newEnv(t)
	failing := userEvent("copied-failure", "ann", event.TypeButtonClick)
	failing["should_fail"] = true
	e.produce(eventRecord(t, 1, failing), eventRecord(t, 1, failing))
	first := e.start(e.config("c1"), nil)
	end := e.endOffsets()
	eventually(t, 10*time.Second, "both copies finished and committed", func() bool {
		return len(e.messages(event.StatusDeadLettered)) == 1 && e.committed()[1] == end[1]
	})
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, first.m.dlqCopies); got != 1 {
		t.Errorf("copies found by the member itself = %v, want 1", got)
	}

	// A third copy after a restart: the member knows nothing of the first,
	// the store does.
	e.produce(eventRecord(t, 1, failing))
	second := e.start(e.config("c2"), nil)
	end = e.endOffsets()
	eventually(t, 10*time.Second, "the third copy finished and committed", func() bool { return e.committed()[1] == end[1] })
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}
	if got := metricValue(t, second.m.dlqCopies); got != 1 {
		t.Errorf("copies found in the store = %v, want 1", got)
	}
	if dl := e.allDLQ(); len(dl) != 1 {
		t.Errorf("DLQ holds %d dead letters of one event sent three times, want 1", len(dl))
	}
	// The processing log keeps the first copy's row, the one whose dead
	// letter is in the DLQ.
	if m, _ := e.message("copied-failure"); m.Status != event.StatusDeadLettered || m.Offset != 0 || !strings.Contains(m.Error, "should_fail") {
		t.Errorf("processing log: %+v, want the first copy's dead_lettered row", m)
	}
}

// TestCommittedDeadLetterOfAnotherEventIgnored: a dead letter names its
// source by coordinates, which repeat when a topic is recreated or the
// broker's log replaced; one naming another event at the same offset must
// not stand for this record's.
func TestCommittedDeadLetterOfAnotherEventIgnored(t *testing.T) {
	e := newEnv(t)
	bad := &kgo.Record{Topic: testTopic, Partition: 1, Value: []byte("not json")}
	e.produce(bad)
	earlier := record.DeadLetter{Topic: testTopic, Partition: 1, Offset: 0, Error: "invalid JSON", Attempts: 1,
		ConsumerID: "gone", FailedAt: time.Now(), EventID: "an-event-of-the-topic-before"}
	e.produce(&kgo.Record{Topic: testDLQ, Value: []byte("{}"), Headers: earlier.Headers(nil)})

	run := e.start(e.config("c1"), nil)
	eventually(t, 10*time.Second, "the malformed record dead-lettered", func() bool { return len(e.messages(event.StatusDeadLettered)) == 1 })
	eventually(t, 10*time.Second, "partition 1 committed", func() bool { return e.committed()[1] == 1 })
	if err := run.stop(); err != nil {
		t.Fatal(err)
	}
	if dl := e.allDLQ(); len(dl) != 2 {
		t.Errorf("DLQ holds %d records, want the earlier one and this record's own", len(dl))
	}
	if got := metricValue(t, run.m.dlqSettled); got != 0 {
		t.Errorf("pulse_pipeline_dlq_already_committed_total = %v, want 0", got)
	}
}
