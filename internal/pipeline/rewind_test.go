package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/record"
)

// rewindAdmin is an admin client of the env's cluster, with the control
// topic the server creates at start.
func (e *env) rewindAdmin() *kafka.Admin {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.adm.CreateTopic(ctx, 1, 1, nil, record.RewindTopic(testTopic)); err != nil {
		e.t.Fatalf("create the control topic: %v", err)
	}
	kc := config.Default().Kafka
	kc.BootstrapServers = strings.Join(e.brokers, ",")
	adm, err := kafka.NewAdmin(kc, testLogger(e.t), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(adm.Close)
	return adm
}

func (e *env) produceSpread(prefix string, n int) {
	e.t.Helper()
	var rs []*kgo.Record
	for i := range n {
		rs = append(rs, eventRecord(e.t, int32(i%3), userEvent(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("u%d", i%5), event.TypePageView)))
	}
	e.produce(rs...)
}

// spreadAndCaughtUp produces n events over the partitions and waits for
// the group to store and commit them all.
func (e *env) spreadAndCaughtUp(n int) {
	e.t.Helper()
	e.produceSpread("ev", n)
	eventually(e.t, 10*time.Second, fmt.Sprintf("%d events stored and committed", n), func() bool {
		return e.eventCount() == int64(n) && e.caughtUp()
	})
}

func (e *env) caughtUp() bool {
	ends, done := e.endOffsets(), e.committed()
	for p, end := range ends {
		if done[p] != end {
			return false
		}
	}
	return true
}

// A rewind of a running group of two members: each member moves the
// partitions it owns, the records are processed again, and the store
// keeps one row per event.
func TestRewindRunningGroup(t *testing.T) {
	e := newEnv(t)
	adm := e.rewindAdmin()
	c1 := e.start(e.config("c1"), nil)
	c2 := e.start(e.config("c2"), nil)
	e.spreadAndCaughtUp(30)
	eventually(t, 10*time.Second, "both members own partitions", func() bool {
		return len(c1.Snapshot().Partitions) > 0 && len(c2.Snapshot().Partitions) > 0
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dry, err := adm.PlanRewind(ctx, kafka.RewindRequest{Group: testGroup, Topic: testTopic, To: kafka.Target{Kind: kafka.ToEarliest}})
	if err != nil {
		t.Fatal(err)
	}
	if !dry.DryRun || dry.Records != 30 || dry.Keys != 5 || dry.Partitions[0].Keys != 5 || dry.KeysLowerBound || dry.Members != 2 {
		t.Fatalf("dry run = %+v; want 30 records, 5 keys (5 users, one type), 2 members", dry)
	}
	if got := e.committed(); got[0] != 10 {
		t.Fatalf("the dry run moved offsets: %v", got)
	}

	dupsBefore := c1.Snapshot().Duplicates + c2.Snapshot().Duplicates
	plan, err := adm.Rewind(ctx, kafka.RewindRequest{Group: testGroup, Topic: testTopic, To: kafka.Target{Kind: kafka.ToEarliest}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Applied || plan.Method != "members" || plan.Records != 30 {
		t.Fatalf("rewind = %+v; want applied by the members, 30 records", plan)
	}
	eventually(t, 15*time.Second, "the 30 records processed again", func() bool {
		return c1.Snapshot().Duplicates+c2.Snapshot().Duplicates-dupsBefore >= 30 && e.caughtUp()
	})
	if n := e.eventCount(); n != 30 {
		t.Errorf("%d events stored after the rewind, want 30: a reprocessed event made a second row", n)
	}
	if n := len(e.messages(event.StatusCompleted)); n != 30 {
		t.Errorf("%d completed processing-log rows, want 30", n)
	}
}

// A member that is not a Pulse consumer cannot move its partitions: the
// rewind says which partitions did not move, and nothing is committed
// behind the member's back.
func TestRewindForeignMemberRefused(t *testing.T) {
	e := newEnv(t)
	adm := e.rewindAdmin()
	e.produceSpread("ev", 9)
	foreign, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumerGroup(testGroup), kgo.ConsumeTopics(testTopic),
		kgo.ClientID("foreign"), kgo.HeartbeatInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	eventually(t, 10*time.Second, "the foreign member consumed and committed", func() bool {
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		foreign.PollFetches(pctx)
		pcancel()
		_ = foreign.CommitUncommittedOffsets(ctx)
		return e.caughtUp()
	})
	_, err = adm.Rewind(ctx, kafka.RewindRequest{Group: testGroup, Topic: testTopic, To: kafka.Target{Kind: kafka.ToEarliest}}, 2*time.Second)
	var re *kafka.RewindError
	if !errors.As(err, &re) || !re.Conflict || !strings.Contains(re.Msg, "no member moved partition 0, 1, 2") {
		t.Fatalf("rewind with a foreign member = %v; want a conflict naming partitions 0, 1, 2", err)
	}
	if !e.caughtUp() {
		t.Errorf("offsets moved: %v", e.committed())
	}
}

// A group without members is committed directly, and a client we did not
// write (librdkafka, through confluent_kafka) reads the targets as the
// group's committed offsets.
func TestRewindEmptyGroupSeenByConfluentKafka(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Fatal("python3 with confluent_kafka is needed")
	}
	e := newEnv(t)
	adm := e.rewindAdmin()
	c := e.start(e.config("c1"), nil)
	e.spreadAndCaughtUp(30)
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	to, err := kafka.ParseTarget("offset:0=3,2=7")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := adm.Rewind(ctx, kafka.RewindRequest{Group: testGroup, Topic: testTopic, To: to}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Method != "commit" || plan.Records != 7+3 || len(plan.Partitions) != 2 {
		t.Fatalf("rewind = %+v; want a commit of 2 partitions, 10 records", plan)
	}
	script := `
import json, sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "enable.auto.commit": False})
tps = c.committed([TopicPartition(sys.argv[3], p) for p in range(3)], timeout=10)
print(json.dumps({str(tp.partition): tp.offset for tp in tps}))
c.close()
`
	out, err := exec.CommandContext(ctx, py, "-c", script, e.brokers[0], testGroup, testTopic).CombinedOutput()
	if err != nil {
		t.Fatalf("confluent_kafka: %v: %s", err, out)
	}
	var got map[string]int64
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("confluent_kafka output %q: %v", out, err)
	}
	if want := map[string]int64{"0": 3, "1": 10, "2": 7}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("committed offsets read by confluent_kafka = %v, want %v", got, want)
	}
	// The group starts again from the targets: 10 records processed
	// again, still 30 rows.
	c2 := e.start(e.config("c2"), nil)
	eventually(t, 10*time.Second, "the 10 records processed again", func() bool {
		return c2.Snapshot().Duplicates == 10 && e.caughtUp()
	})
	if n := e.eventCount(); n != 30 {
		t.Errorf("%d events stored, want 30", n)
	}
}
