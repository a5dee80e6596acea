package pipeline

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
)

// Records of an aborted Kafka transaction are never stored; those of a
// committed one are stored exactly once, and so are records produced
// outside any transaction around them.
func TestAbortedTransactionsNeverStored(t *testing.T) {
	e := newEnv(t)
	txp, err := kgo.NewClient(
		kgo.SeedBrokers(e.brokers...),
		kgo.TransactionalID("test-txn-producer"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		t.Fatalf("transactional producer: %v", err)
	}
	defer txp.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	txn := func(prefix string, n int, commit kgo.TransactionEndTry) {
		t.Helper()
		if err := txp.BeginTransaction(); err != nil {
			t.Fatalf("begin transaction: %v", err)
		}
		var rs []*kgo.Record
		for i := range n {
			rs = append(rs, record(t, int32(i%3), userEvent(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("u%d", i%7), event.TypePageView)))
		}
		if err := txp.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("produce in transaction: %v", err)
		}
		if err := txp.EndTransaction(ctx, commit); err != nil {
			t.Fatalf("end transaction: %v", err)
		}
	}
	m := e.start(e.config("host-1"), nil)
	eventually(t, 10*time.Second, "host-1 assigned", func() bool { return len(m.Snapshot().Partitions) == 3 })
	txn("aborted-a", 30, kgo.TryAbort)
	txn("committed-a", 30, kgo.TryCommit)
	e.produce(record(t, 0, userEvent("plain-1", "p", event.TypePageView)))
	txn("aborted-b", 30, kgo.TryAbort)
	txn("committed-b", 30, kgo.TryCommit)

	end := e.endOffsets()
	eventually(t, 15*time.Second, "commits at the end offsets", func() bool { return maps.Equal(e.committed(), end) })
	stored := map[string]int{}
	for _, msg := range e.messages(event.StatusCompleted) {
		stored[msg.EventID]++
	}
	for _, prefix := range []string{"committed-a", "committed-b"} {
		for i := range 30 {
			if id := fmt.Sprintf("%s-%d", prefix, i); stored[id] != 1 {
				t.Errorf("committed %s stored %d times, want once", id, stored[id])
			}
		}
	}
	if stored["plain-1"] != 1 {
		t.Errorf("plain-1 stored %d times, want once", stored["plain-1"])
	}
	if got := e.eventCount(); got != 61 {
		t.Errorf("stored %d events, want 61 (aborted records stored?)", got)
	}
	for id := range stored {
		if len(id) > 7 && id[:7] == "aborted" {
			t.Errorf("aborted record %s stored", id)
		}
	}
	if s := e.messages(event.StatusDeadLettered); len(s) != 0 {
		t.Errorf("%d records dead-lettered, want none", len(s))
	}
}
