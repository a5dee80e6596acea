package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
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
			rs = append(rs, eventRecord(t, int32(i%3), userEvent(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("u%d", i%7), event.TypePageView)))
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
	e.produce(eventRecord(t, 0, userEvent("plain-1", "p", event.TypePageView)))
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

// allDLQ reads the whole DLQ topic as a read_committed client, up to its
// end offset (transaction markers included, so the read ends).
func (e *env) allDLQ() []*kgo.Record {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := e.adm.ListEndOffsets(ctx, testDLQ)
	if err != nil {
		e.t.Fatalf("DLQ end offset: %v", err)
	}
	o, _ := l.Lookup(testDLQ, 0)
	if o.Offset == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumeTopics(testDLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		e.t.Fatalf("DLQ reader: %v", err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for next := int64(0); next < o.Offset; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			e.t.Fatalf("read DLQ: at offset %d of %d at the deadline (a transaction still open?)", next, o.Offset)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}

// A DLQ transaction that cannot commit is aborted: its dead letters are
// never visible, its partitions are processed again from their committed
// offsets, and in the end each failed record has exactly one dead letter
// and each good record one row.
func TestAbortedDLQTransactionReprocessed(t *testing.T) {
	e := newEnv(t)
	var failures atomic.Int64
	failures.Store(2)
	e.cluster.ControlKey(int16(kmsg.TxnOffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		if failures.Add(-1) < 0 {
			return nil, nil, false
		}
		r := req.(*kmsg.TxnOffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.UnknownServerError.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	var rs []*kgo.Record
	for i := range 12 {
		v := userEvent(fmt.Sprintf("ev-%d", i), fmt.Sprintf("u%d", i), event.TypePageView)
		if i%4 == 1 {
			v["should_fail"] = true
		}
		rs = append(rs, eventRecord(t, 0, v))
	}
	e.produce(rs...)
	m := e.start(e.config("c1"), nil)
	eventually(t, 10*time.Second, "c1 assigned", func() bool { return len(m.Snapshot().Partitions) == 3 })
	end := e.endOffsets()
	eventually(t, 15*time.Second, "partition 0 committed to its end", func() bool { return e.committed()[0] == end[0] })
	if failures.Load() >= 0 {
		t.Fatalf("the transactional commit was refused %d times, want 2", 2-failures.Load()-1)
	}
	if got := metricValue(t, e.metrics.dlqTxns.WithLabelValues("c1", "aborted")); got < 1 {
		t.Errorf("aborted DLQ transactions = %v, want at least 1", got)
	}
	perID := map[string]int{}
	for _, r := range e.allDLQ() {
		var v struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("dead letter %s: %v", r.Value, err)
		}
		perID[v.EventID]++
	}
	for _, id := range []string{"ev-1", "ev-5", "ev-9"} {
		if perID[id] != 1 {
			t.Errorf("%s has %d dead letters, want 1", id, perID[id])
		}
	}
	if len(perID) != 3 {
		t.Errorf("dead letters of %v, want ev-1, ev-5 and ev-9 only", perID)
	}
	// Processed again after each abort, the failing records went on
	// with their budgets spent: 4 attempts each in all, not 4 per
	// transaction.
	if got := metricValue(t, e.metrics.failedAttempt.WithLabelValues("c1")); got != 12 {
		t.Errorf("failed attempts = %v, want 12 (3 records, 4 attempts each, through the aborts)", got)
	}
	if got := e.eventCount(); got != 9 {
		t.Errorf("stored %d events, want 9", got)
	}
}

// A DLQ transaction aborted at shutdown leaves its partitions uncommitted
// past its dead letters, even when leaving the group then revokes them
// (which commits): the next member processes the failed records again and
// dead-letters each exactly once.
func TestShutdownNeverCommitsPastAbortedDeadLetters(t *testing.T) {
	e := newEnv(t)
	var refuse atomic.Bool
	refuse.Store(true)
	e.cluster.ControlKey(int16(kmsg.TxnOffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		if !refuse.Load() {
			return nil, nil, false
		}
		r := req.(*kmsg.TxnOffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.UnknownServerError.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	bad := userEvent("bad", "u0", event.TypePageView)
	bad["should_fail"] = true
	rs := e.produce(
		eventRecord(t, 0, userEvent("ok-0", "u1", event.TypePageView)),
		eventRecord(t, 0, bad),
		eventRecord(t, 0, userEvent("ok-1", "u2", event.TypePageView)),
	)
	// No periodic commit: the first commit of the transaction is the
	// final one, refused, so the transaction aborts at shutdown.
	cfg := e.config("c1")
	cfg.CommitInterval = time.Hour
	c, err := New(cfg, e.db, nil, e.metrics, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	eventually(t, 10*time.Second, "the dead-lettered row stored", func() bool {
		return len(e.messages(event.StatusDeadLettered)) == 1 && e.eventCount() == 2
	})
	cancel()
	select {
	case err := <-done:
		t.Logf("Run: %v", err) // the final commit fails: it is refused
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := metricValue(t, e.metrics.dlqTxns.WithLabelValues("c1", "aborted")); got != 1 {
		t.Errorf("aborted DLQ transactions = %v, want 1", got)
	}
	if got, ok := e.committed()[0]; ok && got > rs[1].Offset {
		t.Fatalf("committed offset %d after shutdown, past the dead letter at %d whose transaction aborted", got, rs[1].Offset)
	}
	refuse.Store(false)
	m2 := e.start(e.config("c2"), nil)
	eventually(t, 10*time.Second, "c2 assigned", func() bool { return len(m2.Snapshot().Partitions) == 3 })
	end := e.endOffsets()
	eventually(t, 15*time.Second, "partition 0 committed to its end", func() bool { return e.committed()[0] == end[0] })
	dl := e.allDLQ()
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	if off, _ := header(dl[0], record.HeaderDLQOffset); off != fmt.Sprint(rs[1].Offset) {
		t.Errorf("dead letter of offset %s, want %d", off, rs[1].Offset)
	}
	if got := e.eventCount(); got != 2 {
		t.Errorf("stored %d events, want 2", got)
	}
}

// heldLookup is the env's store whose look-up of an earlier dead letter
// of event id (copies.go) waits until release reports true, so that the
// record's DLQ produce arrives after the ones behind it.
type heldLookup struct {
	*sqlite.DB
	id      string
	release func() bool
}

func (s *heldLookup) Messages(ctx context.Context, f store.MessageFilter) ([]event.Message, error) {
	if f.EventID == s.id {
		deadline := time.Now().Add(10 * time.Second)
		for !s.release() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		ctx = context.Background() // the look-up's own bound has passed
	}
	return s.DB.Messages(ctx, f)
}

// The dead letters of one partition are produced from several goroutines,
// so a lower one can reach the DLQ transaction after a higher one and
// after the transaction started closing. It used to wait for the next
// transaction, while the closing one waited for the partition's
// watermark to pass the higher one, so past it: neither ever ended, the
// broker aborted the transaction after its timeout, and both records
// stayed unfinished for good (TestBigReplayRunsInTheBackground, 1 run in
// 5). A dead letter below one the transaction holds now joins it.
func TestLowerDeadLetterJoinsAClosingTransaction(t *testing.T) {
	e := newEnv(t)
	first := userEvent("first", "u1", event.TypePageView)
	first["should_fail"] = true
	second := userEvent("second", "u1", event.TypePageView)
	second["should_fail"] = true
	// One key: the second is attempted once the first is dead-lettered,
	// so its turn comes after the first's, on another goroutine.
	rs := e.produce(eventRecord(t, 0, first), eventRecord(t, 0, second))
	var member atomic.Pointer[Consumer]
	sink := &heldLookup{DB: e.db, id: "first", release: func() bool {
		// The first's produce goes on once the second is in the
		// transaction and the transaction is closing (it cannot cover
		// the second while the first is unfinished).
		c := member.Load()
		if c == nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.txn.closing && c.txn.dl[0] == rs[1].Offset
	}}
	m := e.start(e.config("c1"), sink)
	member.Store(m.Consumer)
	// Well inside the broker's transaction timeout (15 s), which ended
	// the transaction before, never the records.
	eventually(t, 10*time.Second, "both records dead-lettered and committed", func() bool {
		return len(e.messages(event.StatusDeadLettered)) == 2 && e.committed()[0] == rs[1].Offset+1
	})
	dl := e.allDLQ()
	if len(dl) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dl))
	}
	got := map[string]bool{}
	for _, r := range dl {
		off, _ := header(r, record.HeaderDLQOffset)
		got[off] = true
	}
	if !got[fmt.Sprint(rs[0].Offset)] || !got[fmt.Sprint(rs[1].Offset)] {
		t.Errorf("dead letters of offsets %v, want %d and %d", got, rs[0].Offset, rs[1].Offset)
	}
	if n := metricValue(t, e.metrics.dlqTxns.WithLabelValues("c1", "aborted")); n != 0 {
		t.Errorf("aborted DLQ transactions = %v, want 0", n)
	}
}

// After an aborted DLQ transaction, the partitions it had dead letters in
// are rewound by the poll loop, which abandons their records. A dead
// letter of one of them whose produce came in between (its turn taken on
// another goroutine, its look-up for an earlier copy under way while the
// abort ran) used to begin a new transaction: the partition's records,
// processed again from the committed offset, waited below it for it to
// end, and it waited for them (a revoke settling the transaction at the
// group's start, then the broker's timeout abort, in
// TestBigReplayRunsInTheBackground), or it committed a second dead letter
// of the record. Such a record now sends nothing and waits to be
// abandoned.
func TestNoDeadLetterSentIntoAPartitionToRewind(t *testing.T) {
	for _, tc := range []struct {
		name string
		mark func(c *Consumer, ps *partState)
	}{
		{"rewind requested", func(c *Consumer, _ *partState) { c.rewind[0] = true }},
		{"partition gone", func(_ *Consumer, ps *partState) { ps.gone = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			cfg := e.config("c1")
			c, err := New(cfg, e.db, nil, e.metrics, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			// The member's producer half only: no group is joined.
			cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...),
				kgo.TransactionalID(TransactionalID(cfg.Group, cfg.ConsumerID)),
				kgo.TransactionTimeout(txnTimeout), kgo.ProducerLinger(0))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			c.cl, c.prodCtx = cl, t.Context()
			bad := userEvent("bad", "u1", event.TypePageView)
			bad["should_fail"] = true
			kr := e.produce(eventRecord(t, 0, bad))[0]
			c.mu.Lock()
			ps := newPartState(0)
			c.parts[0] = ps
			r := c.newRec(ps, kr)
			ps.pending = append(ps.pending, slot{off: kr.Offset})
			ps.next, ps.unfinished = kr.Offset+1, 1
			r.state = stDeadLettering
			ps.active[r] = struct{}{}
			tc.mark(c, ps)
			c.mu.Unlock()

			c.produceDLQ(r)

			c.mu.Lock()
			defer c.mu.Unlock()
			if c.txnOpen || c.txn.pending != 0 || len(c.txn.dl) != 0 || r.inTxn {
				t.Errorf("dead letter sent: transaction open %v, pending %d, dead letters %v", c.txnOpen, c.txn.pending, c.txn.dl)
			}
			if r.state != stDeadLettering {
				t.Errorf("record state %v, want it left to the rewind (dead-lettering)", r.state)
			}
		})
	}
}

// A dead letter whose produce reaches the broker after the coordinator's
// transaction timeout aborted its transaction (and bumped the producer
// epoch) fails with INVALID_PRODUCER_EPOCH, which franz-go treats as a
// fatal error of the producer id under KIP-890 part 2. The member used to
// retry the produce for good: the transaction never covered it, so no
// commit ever found the transaction gone, and the partition stopped. Now
// the transaction is aborted, the partition rewound, and the DLQ producer
// replaced by a new one.
func TestDLQProduceAfterTheBrokersTimeoutAbort(t *testing.T) {
	e := newEnv(t)
	// A short transaction timeout, and the second dead letter's produce
	// held past it.
	e.cluster.ControlKey(int16(kmsg.InitProducerID), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		if r := req.(*kmsg.InitProducerIDRequest); r.TransactionalID != nil {
			r.TransactionTimeoutMillis = 500
		}
		return nil, nil, false
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	td, err := e.adm.ListTopics(ctx, testDLQ)
	if err != nil {
		t.Fatal(err)
	}
	dlqID := td[testDLQ].ID
	var produces atomic.Int64
	e.cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if len(pr.Topics) == 1 && (pr.Topics[0].Topic == testDLQ || pr.Topics[0].TopicID == dlqID) && produces.Add(1) == 2 {
			e.cluster.SleepControl(func() { time.Sleep(1500 * time.Millisecond) })
		}
		return nil, nil, false
	})
	first := userEvent("first", "u1", event.TypePageView)
	first["should_fail"] = true
	second := userEvent("second", "u1", event.TypePageView)
	second["should_fail"] = true
	rs := e.produce(eventRecord(t, 0, first), eventRecord(t, 0, second))
	// The first's produce goes second (TestLowerDeadLetterJoinsAClosingTransaction).
	var member atomic.Pointer[Consumer]
	sink := &heldLookup{DB: e.db, id: "first", release: func() bool {
		c := member.Load()
		if c == nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.txn.closing && c.txn.dl[0] == rs[1].Offset
	}}
	m := e.start(e.config("c1"), sink)
	member.Store(m.Consumer)
	eventually(t, 20*time.Second, "both records dead-lettered and committed", func() bool {
		return len(e.messages(event.StatusDeadLettered)) == 2 && e.committed()[0] == rs[1].Offset+1
	})
	if dl := e.allDLQ(); len(dl) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dl))
	}
}
