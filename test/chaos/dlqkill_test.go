package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// failingLoad produces should_fail events, 40 every 200 ms, until stop;
// each is retried 3 times over about a second before it is dead-lettered,
// so kills and rebalances land mid-retry, between DLQ produces and
// commits.
type failingLoad struct {
	mu      sync.Mutex
	failing map[string]bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	p       *kafka.Producer
}

func startFailingLoad(t *testing.T, addr string, seed uint64) *failingLoad {
	t.Helper()
	p, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: kafkaConfig(addr).Kafka, Name: "failing"}, nil, nil)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	f := &failingLoad{failing: map[string]bool{}, cancel: cancel, p: p}
	f.wg.Go(func() {
		gen := generator.New(generator.Config{Seed: seed})
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			batch := make([]*event.Event, 40)
			for i := range batch {
				e := gen.Next()
				e.ShouldFail, e.DelaySeconds = true, 0
				batch[i] = &e
			}
			// Not cut short by the stop: a batch cancelled half-way
			// would leave events in Kafka the test did not count.
			pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := p.ProduceBatch(pctx, batch, event.SourceProducer, "chaos-failing")
			cancel()
			if err != nil {
				t.Errorf("produce failing events: %v", err)
				return
			}
			f.mu.Lock()
			for _, e := range batch {
				f.failing[e.EventID] = true
			}
			f.mu.Unlock()
		}
	})
	return f
}

// stop ends the load and returns the ids of the failing events sent.
func (f *failingLoad) stop() map[string]bool {
	f.cancel()
	f.wg.Wait()
	f.p.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failing
}

// checkDeadLetters reads the DLQ as a read_committed client and checks
// that each failing event has exactly one dead letter (one per source
// record too), that there is no other, and that no failing event was
// stored and each has one processing-log row. It returns the count.
func checkDeadLetters(t *testing.T, addr, dbURL string, failing map[string]bool) int {
	t.Helper()
	ctx := pulsetest.Context(t, 2*time.Minute)
	want := len(failing)
	var recs []*kgo.Record
	var err error
	pulsetest.WaitFor(t, 60*time.Second, "a dead letter for every failing event", func() error {
		recs, err = topicRecords(ctx, addr, config.Default().Kafka.DLQTopic)
		if err != nil {
			return err
		}
		if len(recs) < want {
			return fmt.Errorf("%d of %d in the DLQ", len(recs), want)
		}
		return nil
	})
	perID := map[string]int{}
	perSource := map[string]int{}
	for _, r := range recs {
		e, err := event.Decode(r.Value)
		if err != nil || !failing[e.EventID] {
			t.Errorf("DLQ record that is no failing event: %q", trim(string(r.Value)))
			continue
		}
		perID[e.EventID]++
		perSource[header(r, "dlq_original_partition")+"/"+header(r, "dlq_original_offset")]++
	}
	for id := range failing {
		if perID[id] != 1 {
			t.Errorf("failing event %s has %d dead letters, want 1", id, perID[id])
		}
	}
	for src, n := range perSource {
		if n != 1 {
			t.Errorf("source record %s has %d dead letters, want 1", src, n)
		}
	}
	if len(recs) != want {
		t.Errorf("DLQ holds %d dead letters for %d failing events", len(recs), want)
	}
	stored, err := storedIDs(ctx, dbURL, "events")
	if err != nil {
		t.Fatalf("read store: %v", err)
	}
	msgs, err := storedIDs(ctx, dbURL, "messages")
	if err != nil {
		t.Fatalf("read processing log: %v", err)
	}
	for id := range failing {
		if stored[id] > 0 {
			t.Errorf("failing event %s was stored", id)
		}
		if msgs[id] != 1 {
			t.Errorf("failing event %s has %d processing-log rows, want 1", id, msgs[id])
		}
	}
	return len(recs)
}

// TestDeadLettersExactThroughKills SIGKILLs consumer processes while
// should_fail events are being retried and dead-lettered, amid normal
// traffic, and restarts them. A read_committed reader of the DLQ then sees
// exactly one dead letter per failing event (and per source record), and
// every normal event is stored exactly once. Before dead letters were
// transactional, a kill between a DLQ produce and the offset commit
// dead-lettered the record again on redelivery.
func TestDeadLettersExactThroughKills(t *testing.T) {
	kills, rate := 6, 300
	if long() {
		kills = 30
	}
	dir := t.TempDir()
	_, addr := startBroker(t, filepath.Join(dir, "broker"))
	dbURL := filepath.Join(dir, "pulse.db")
	group := "chaos_dlq_kill"
	cs := newConsumers(t, addr, dbURL, group)
	for i := range 3 {
		cs.start(fmt.Sprintf("c%d", i))
	}
	// Delayed events too: a kill finds some of them mid-attempt, holding
	// their keys, and they must be stored once all the same.
	l := startLoad(t, addr, loadConfig{Rate: rate, Seed: 31, DelayRate: 0.05})
	l.waitAcked(t, rate/2, 30*time.Second)
	fl := startFailingLoad(t, addr, 37)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	start := time.Now()
	for i := range kills {
		wait := time.Second + time.Duration(rng.Int64N(int64(2*time.Second)))
		time.Sleep(wait) // the kill moment is random by design; nothing waits on it
		cs.checkAlive()
		ids := cs.ids()
		id := ids[rng.IntN(len(ids))]
		cs.procs[id].Kill()
		t.Logf("kill %d: SIGKILL %s after %v", i+1, id, wait.Round(time.Millisecond))
		cs.start(id)
	}
	killing := time.Since(start)
	failing := fl.stop()
	cs.checkAlive()
	l.stop()
	if _, _, failed := l.counts(); failed > 0 {
		t.Fatalf("the producer saw %d events fail: %v", failed, l.lastErr.Load())
	}
	v := waitExactlyOnce(t, addr, group, dbURL, l.ackedIDs(), 90*time.Second)
	n := checkDeadLetters(t, addr, dbURL, failing)
	t.Logf("dead letters through kills: %d kills over %v; %d failing events, %s dead letters, each exactly once; normal traffic %v",
		kills, killing.Round(time.Second), len(failing), strconv.Itoa(n), v)
}
