package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
)

// A rewind back over a record mid-retry keeps its retry: given again, it
// waits for the due time it had with the budget it had, as the retry log
// says, rather than starting over in memory while the log keeps the older
// state (which a crash would bring back). A rewind forward past it drops
// its state from the log: its record is skipped, never delivered again.
func TestRewindKeepsAndCutsRetryStates(t *testing.T) {
	e := newEnv(t)
	adm := e.rewindAdmin()
	bad := userEvent("f", "alice", event.TypeButtonClick)
	bad["should_fail"] = true
	e.produce(eventRecord(t, 0, userEvent("ok", "bob", event.TypePageView)), eventRecord(t, 0, bad))

	// Its first retry is due 4-8 s after the first attempt.
	cfg := e.config("c1")
	cfg.RetryBase, cfg.RetryMax = 8*time.Second, 8*time.Second
	c := e.start(cfg, nil)
	saved := e.firstRetrySaved()
	eventually(t, 5*time.Second, "ok stored", func() bool {
		_, ok := e.message("ok")
		return ok
	})
	eventually(t, 5*time.Second, "the group committed up to f", func() bool { return e.committed()[0] == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dups := c.Snapshot().Duplicates
	if _, err := adm.Rewind(ctx, kafka.RewindRequest{Group: testGroup, Topic: testTopic, To: kafka.Target{Kind: kafka.ToEarliest}, Partitions: []int32{0}}, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "ok processed again", func() bool { return c.Snapshot().Duplicates > dups })
	if time.Now().After(saved.NextRetryAt) {
		t.Fatalf("f's retry came due (%s) before the rewind was done: make the backoff longer", saved.NextRetryAt)
	}
	eventually(t, 5*time.Second, "f given again", func() bool {
		return metricValue(t, e.metrics.resumed.WithLabelValues("c1")) == 1
	})
	live := c.pub.messagesOf("f")
	last := live[len(live)-1]
	if last.Status != event.StatusRetrying || len(last.Attempts) != 1 || last.NextRetryAt == nil || !last.NextRetryAt.Truncate(time.Microsecond).Equal(saved.NextRetryAt) {
		t.Fatalf("f after the rewind = %+v; want retrying with its one attempt, due at %s", last, saved.NextRetryAt)
	}
	if rs := e.pending(0); len(rs) != 1 || rs[0].Retries != 1 || !rs[0].NextRetryAt.Equal(saved.NextRetryAt) {
		t.Fatalf("retry log after the rewind = %+v; want f's state unchanged", rs)
	}

	// Forward past f: its state goes with it.
	if _, err := adm.Rewind(ctx, kafka.RewindRequest{Group: testGroup, Topic: testTopic, To: kafka.Target{Kind: kafka.ToLatest}, Partitions: []int32{0}}, 0); err != nil {
		t.Fatal(err)
	}
	if rs := e.pending(0); len(rs) != 0 {
		t.Fatalf("retry log after a rewind past f = %+v; want empty", rs)
	}
	if got := e.committed()[0]; got != 2 {
		t.Fatalf("partition 0 committed at %d after a rewind to latest, want 2", got)
	}
	if _, ok := e.message("f"); ok {
		t.Fatal("f, skipped by the rewind, was stored")
	}
}

// A member whose commit of a rewind's target fails reads on from where it
// was: the partition is reported as not moved and none of its records is
// processed again, while the partitions committed move.
func TestRewindCommitRefusedLeavesPartition(t *testing.T) {
	e := newEnv(t)
	adm := e.rewindAdmin()
	c := e.start(e.config("c1"), nil)
	e.spreadAndCaughtUp(30)
	// The broker refuses a commit of partition 0 back to offset 0 (the
	// group commits one topic; newer requests name it by id only).
	e.cluster.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		r := req.(*kmsg.OffsetCommitRequest)
		refused := false
		for _, tp := range r.Topics {
			for _, p := range tp.Partitions {
				refused = refused || (p.Partition == 0 && p.Offset == 0)
			}
		}
		if !refused {
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, tp := range r.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
			for _, p := range tp.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition = p.Partition
				if p.Partition == 0 {
					rp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dups := c.Snapshot().Duplicates
	_, err := adm.Rewind(ctx, kafka.RewindRequest{Group: testGroup, Topic: testTopic, To: kafka.Target{Kind: kafka.ToEarliest}}, 2*time.Second)
	var re *kafka.RewindError
	if !errors.As(err, &re) || !strings.Contains(re.Msg, "partition 0 (c1: commit:") {
		t.Fatalf("rewind with partition 0's commit refused = %v; want a conflict naming partition 0 and the commit", err)
	}
	// A record produced to partition 0 now is stored after any record
	// the member would read again before it.
	e.produce(eventRecord(t, 0, userEvent("after", "u0", event.TypePageView)))
	eventually(t, 10*time.Second, "the new record stored and everything committed", func() bool {
		_, ok := e.message("after")
		return ok && e.caughtUp()
	})
	if got := c.Snapshot().Duplicates - dups; got != 20 {
		t.Errorf("%d records processed again; want 20, those of partitions 1 and 2 (partition 0 did not move)", got)
	}
	if n := e.eventCount(); n != 31 {
		t.Errorf("%d events stored, want 31", n)
	}
}

// Records a rewind gave back are processed again by whichever member is
// given them, not settled as stored already: here the group was empty
// when rewound, so the next member to start, which did not move them,
// reads the rewind markers. A partition no marker covers (rewound by a
// tool that left none) is settled as stored, as the timeline would say.
func TestRewoundRecordsProcessedAgainByNextOwner(t *testing.T) {
	e := newEnv(t)
	adm := e.rewindAdmin()
	c1 := e.start(e.config("c1"), nil)
	e.spreadAndCaughtUp(30)
	if err := c1.stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plan, err := adm.Rewind(ctx, kafka.RewindRequest{Group: testGroup, Topic: testTopic, To: kafka.Target{Kind: kafka.ToEarliest}}, 0)
	if err != nil || plan.Method != "commit" {
		t.Fatalf("rewind of the empty group = %+v, %v", plan, err)
	}
	// The marker the console's rewind raises, for partitions 0 and 1.
	ranges := []event.RewoundRange{{Partition: 0, From: 0, To: 10}, {Partition: 1, From: 0, To: 10}}
	mk := event.Marker{T: time.Now().UTC(), Kind: event.MarkerRewind, Detail: event.RewindDetail(testGroup, testTopic, "earliest", ranges, 20)}
	if err := e.db.WriteMarkers(ctx, []event.Marker{mk}); err != nil {
		t.Fatal(err)
	}
	c2 := e.start(e.config("c2"), nil)
	eventually(t, 10*time.Second, "the 30 records given again and committed", func() bool {
		return c2.Snapshot().Duplicates == 30 && e.caughtUp()
	})
	if got := metricValue(t, e.metrics.skipped.WithLabelValues("c2")); got != 10 {
		t.Errorf("%v records settled as stored without processing; want 10, partition 2's (0 and 1 were rewound to process again)", got)
	}
	if n := e.eventCount(); n != 30 {
		t.Errorf("%d events stored, want 30", n)
	}
}
