package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/record"
)

// startCluster starts kfake on dataDir with the test topics.
func startCluster(t *testing.T, dataDir string) (*kfake.Cluster, []string) {
	t.Helper()
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(0),
		kfake.DataDir(dataDir),
		kfake.SeedTopics(3, testTopic),
		kfake.SeedTopics(1, testDLQ),
	)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	return cluster, cluster.ListenAddrs()
}

// keyless produces n records without event_id (as kcat would), each a
// different event, to partition 0, and returns their offsets.
func keyless(t *testing.T, brokers []string, tag string, n int) []int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var offs []int64
	for i := range n {
		v := fmt.Sprintf(`{"user_id":"%s-%d","event_type":"page_view"}`, tag, i)
		r := &kgo.Record{Topic: testTopic, Partition: 0, Value: []byte(v)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		offs = append(offs, r.Offset)
	}
	return offs
}

// After the broker log is replaced while the database is kept (the move
// to another cluster, or a recreated topic), new records without
// event_id at offsets the old log used are new events: every one is
// stored, none dropped as a duplicate of the old record at its offset.
func TestDerivedIDsSurviveALogReplaced(t *testing.T) {
	e := newEnv(t)
	dataDir := filepath.Join(t.TempDir(), "broker")
	run := func(tag string) []int64 {
		t.Helper()
		cluster, brokers := startCluster(t, dataDir)
		defer cluster.Close()
		offs := keyless(t, brokers, tag, 10)
		cfg := e.config("c1")
		cfg.Brokers = brokers
		m := e.start(cfg, nil)
		want := int64(len(offs))
		eventually(t, 15*time.Second, "the "+tag+" events stored", func() bool {
			s := m.Snapshot()
			return s.Processed+s.Duplicates >= want
		})
		if err := m.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		return offs
	}
	before := run("old")
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatalf("remove the broker's log: %v", err)
	}
	after := run("new")
	if before[0] != after[0] {
		t.Fatalf("the new log starts at offset %d, the old one at %d: the test needs reused offsets", after[0], before[0])
	}
	users := map[string]int{}
	for _, m := range e.messages(event.StatusCompleted) {
		users[m.UserID]++
	}
	for _, tag := range []string{"old", "new"} {
		for i := range 10 {
			if u := tag + "-" + strconv.Itoa(i); users[u] != 1 {
				t.Errorf("event of %s stored %d times, want once", u, users[u])
			}
		}
	}
	if got := e.eventCount(); got != 20 {
		t.Errorf("stored %d events, want 20 (10 before the log was replaced, 10 after)", got)
	}
}

// A record carrying, as its own event_id, an id in the namespace Pulse
// derives ids in is refused with the reason, so that no client can claim
// the id of a future record without one and suppress it.
func TestClaimedDerivedIDRefused(t *testing.T) {
	e := newEnv(t)
	m := e.start(e.config("c1"), nil)
	eventually(t, 10*time.Second, "c1 assigned", func() bool { return len(m.Snapshot().Partitions) == 3 })
	// The id the record without event_id after the claims would have
	// got under the old scheme, and any other version 8 UUID.
	end := e.endOffsets()[0]
	const claimsOf = 2
	claims := []string{event.DerivedID(testTopic, 0, end+claimsOf), "0193e0a4-7b1c-8d2e-9f00-112233445566"}
	for i, id := range claims {
		e.produce(eventRecord(t, 0, userEvent(id, fmt.Sprintf("claimer-%d", i), event.TypePageView)))
	}
	keyless(t, e.brokers, "victim", 1)
	eventually(t, 10*time.Second, "the claims dead-lettered", func() bool { return len(e.messages(event.StatusDeadLettered)) == len(claims) })
	for _, r := range e.readDLQ(len(claims)) {
		if reason, _ := header(r, record.HeaderDLQError); !strings.Contains(reason, "event_id") || !strings.Contains(reason, "reserved") {
			t.Errorf("dlq_error = %q, want it to say event_id is reserved", reason)
		}
	}
	eventually(t, 10*time.Second, "the record without event_id stored", func() bool {
		for _, msg := range e.messages(event.StatusCompleted) {
			if msg.UserID == "victim-0" {
				return true
			}
		}
		return false
	})
}

// A DLQ replay of a record without event_id is stored under the id its
// original got (carried in replay_event_id), so it replaces the
// dead-lettered row; the header means nothing on a record that is not a
// replay, nor when it holds an id outside the derived namespace.
func TestReplayCarriesTheDerivedID(t *testing.T) {
	e := newEnv(t)
	orig := event.RecordID(event.RecordRef{Topic: testTopic, Partition: 2, Offset: 7, Value: []byte("x")})
	value := func(u string) []byte { return []byte(`{"user_id":"` + u + `","event_type":"page_view"}`) }
	rs := e.produce(
		&kgo.Record{Topic: testTopic, Partition: 0, Value: value("replayed"), Headers: []kgo.RecordHeader{
			{Key: record.HeaderReplayOf, Value: []byte("user_events_dlq/0/3")}, {Key: record.HeaderReplayEventID, Value: []byte(orig)}}},
		&kgo.Record{Topic: testTopic, Partition: 0, Value: value("not-a-replay"), Headers: []kgo.RecordHeader{
			{Key: record.HeaderReplayEventID, Value: []byte(orig)}}},
		&kgo.Record{Topic: testTopic, Partition: 0, Value: value("foreign-id"), Headers: []kgo.RecordHeader{
			{Key: record.HeaderReplayOf, Value: []byte("user_events_dlq/0/4")}, {Key: record.HeaderReplayEventID, Value: []byte("my-own-id")}}},
	)
	run := e.start(e.config("c1"), nil)
	eventually(t, 10*time.Second, "3 events stored", func() bool { return e.eventCount() == 3 })
	for i, want := range []string{orig, recordID(rs[1]), recordID(rs[2])} {
		if m, ok := e.message(want); !ok || m.UserID != []string{"replayed", "not-a-replay", "foreign-id"}[i] {
			t.Errorf("record %d: no message under %s (%+v)", i, want, m)
		}
		// The live statistics tell a replay that replaced its dead
		// letter (an id carried from the original) from one that did
		// not (an id derived from the replay record) by this flag.
		for _, m := range run.pub.messagesOf(want) {
			if m.IDDerived != (i > 0) {
				t.Errorf("record %d: published id_derived %v, want %v", i, m.IDDerived, i > 0)
			}
		}
		if len(run.pub.messagesOf(want)) == 0 {
			t.Errorf("record %d: nothing published under %s", i, want)
		}
	}
}
