package pipeline

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
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
