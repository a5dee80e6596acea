package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/broker"
)

// TestFirstRecordsSkipsMarkersAndAbortedRecords: the records a
// read-committed consumer sees are the only ones a range can lose; a
// range holding only a transaction's commit marker, or an aborted
// transaction, holds none.
func TestFirstRecordsSkipsMarkersAndAbortedRecords(t *testing.T) {
	cfg := startBroker(t, broker.Config{Topics: []broker.Topic{{Name: "gaps", Partitions: 1}}})
	ctx := testCtx(t)
	plain, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers()...), kgo.DefaultProduceTopic("gaps"))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	txn, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers()...), kgo.DefaultProduceTopic("gaps"), kgo.TransactionalID("gap-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	inTxn := func(commit kgo.TransactionEndTry, values ...string) {
		t.Helper()
		if err := txn.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if err := txn.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := txn.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	// 0: a plain record; 1-2: an aborted transaction and its marker;
	// 3: a committed record; 4: its marker.
	if err := plain.ProduceSync(ctx, &kgo.Record{Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	inTxn(kgo.TryAbort, "aborted")
	inTxn(kgo.TryCommit, "committed")
	a, err := NewAdmin(cfg.Kafka, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, tc := range []struct {
		name        string
		from, until int64
		want        int64 // -1: none
	}{
		{"a plain record", 0, 1, 0},
		{"an aborted transaction and its marker", 1, 3, -1},
		{"the committed record", 1, 5, 3},
		{"the commit marker alone", 4, 5, -1},
	} {
		got, err := a.FirstRecords(ctx, "gaps", map[int32]int64{0: tc.from}, map[int32]int64{0: tc.until}, time.Second)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		o, ok := got[0]
		if !ok {
			o = -1
		}
		if o != tc.want {
			t.Errorf("%s: first record in [%d, %d) = %d, want %d", tc.name, tc.from, tc.until, o, tc.want)
		}
	}
}
