package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
	"github.com/pulse-dev/pulse/test/pulsetest"
	"github.com/pulse-dev/pulse/test/rewindtest"
)

// rewindMonitor is the group monitor of kc's group over a real store.
func rewindMonitor(t *testing.T, kc config.Kafka, cfg Config) (*Group, *sqlite.DB) {
	t.Helper()
	reg := prometheus.NewRegistry()
	admin, err := kafka.NewAdmin(kc, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	opts, err := kafka.ClientOpts(kc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Group, cfg.Topic, cfg.ClientOpts = kc.Group, kc.Topic, opts
	db := openStore(t)
	mon, err := New(cfg, Deps{Admin: admin, History: db}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	return mon, db
}

// rewindMarkers are the rewind markers mon has kept.
func rewindMarkers(t *testing.T, mon *Group) []event.Marker {
	t.Helper()
	ms, err := mon.Rewinds(t.Context(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// stableWith waits until the group is Stable with n members, each owning
// a partition.
func stableWith(t *testing.T, mon *Group, n int) {
	t.Helper()
	pulsetest.WaitFor(t, 20*time.Second, fmt.Sprintf("the group stable with %d members owning partitions", n), func() error {
		lag, err := mon.deps.Admin.GroupLag(t.Context(), mon.cfg.Group, mon.cfg.Topic)
		if err != nil {
			return err
		}
		owning := 0
		for _, m := range lag.Members {
			if len(m.Partitions) > 0 {
				owning++
			}
		}
		if lag.State != "Stable" || owning != n {
			return fmt.Errorf("state %s, %d of %d members owning partitions", lag.State, owning, len(lag.Members))
		}
		return nil
	})
}

// A rewind that gives up part way (a member that is not a Pulse consumer
// owns a partition) still moved the other partitions: the error names
// both, the plan says which moved, the marker names only their offsets,
// and the detector does not mark them a second time.
func TestRewindPartlyApplied(t *testing.T) {
	kc, brokers := rewindtest.Cluster(t)
	mon, _ := rewindMonitor(t, kc, Config{RewindWait: 2 * time.Second})
	pulse := rewindtest.Start(t, rewindtest.Options{Brokers: brokers, Group: kc.Group, Topic: kc.Topic, ClientID: "pulse-member"})
	foreign, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ClientID("foreign"), kgo.ConsumerGroup(kc.Group),
		kgo.ConsumeTopics(kc.Topic), kgo.DisableAutoCommit(), kgo.HeartbeatInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	stableWith(t, mon, 2)
	var moved []int32
	pulsetest.WaitFor(t, 10*time.Second, "the Pulse member told of what it owns", func() error {
		lag, err := mon.deps.Admin.GroupLag(t.Context(), mon.cfg.Group, mon.cfg.Topic)
		if err != nil {
			return err
		}
		moved = pulse.Owned()
		for _, m := range lag.Members {
			if m.ClientID == "pulse-member" && fmt.Sprint(m.Partitions) == fmt.Sprint(moved) && len(moved) > 0 {
				return nil
			}
		}
		return fmt.Errorf("it owns %v; the group says %+v", moved, lag.Members)
	})
	var notMoved []int32
	for p := range int32(3) {
		if !slices.Contains(moved, p) {
			notMoved = append(notMoved, p)
		}
	}
	// The detector knows the offsets from before.
	if err := mon.sample(t.Context()); err != nil {
		t.Fatal(err)
	}

	plan, err := mon.Rewind(t.Context(), kafka.Target{Kind: kafka.ToEarliest}, nil, false)
	var re *kafka.RewindError
	if !errors.As(err, &re) || !re.Conflict || !strings.Contains(re.Msg, "no member moved partition") || !strings.Contains(re.Msg, "partitions moved: ") {
		t.Fatalf("rewind = %v; want a conflict naming the partitions moved and not moved", err)
	}
	if fmt.Sprint(plan.MovedPartitions()) != fmt.Sprint(moved) || fmt.Sprint(plan.UnmovedPartitions()) != fmt.Sprint(notMoved) || plan.Applied {
		t.Fatalf("plan moved %v, not %v, applied %v; want %v moved (the Pulse member's), %v not",
			plan.MovedPartitions(), plan.UnmovedPartitions(), plan.Applied, moved, notMoved)
	}
	ms := rewindMarkers(t, mon)
	if len(ms) != 1 {
		t.Fatalf("rewind markers %+v; want one", ms)
	}
	_, ranges, ok := event.ParseRewindDetail(ms[0].Detail)
	var want []event.RewoundRange
	for _, p := range moved {
		want = append(want, event.RewoundRange{Partition: p, From: 0, To: rewindtest.Records})
	}
	if !ok || fmt.Sprint(ranges) != fmt.Sprint(want) || !strings.Contains(ms[0].Detail, "to earliest") ||
		!strings.Contains(ms[0].Detail, fmt.Sprintf("; %d records to process again", len(moved)*rewindtest.Records)) ||
		!strings.Contains(ms[0].Detail, "partially applied") {
		t.Errorf("marker %q: ranges %+v; want %+v, partially applied", ms[0].Detail, ranges, want)
	}
	// The detector learnt the moved partitions' targets: a sample of the
	// moved group marks nothing more.
	if err := mon.sample(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ms := rewindMarkers(t, mon); len(ms) != 1 {
		t.Errorf("rewind markers after a sample %+v; want the one", ms)
	}
}

// Sampling goes on while the members of a running group take their time
// to move their partitions, and the move, seen by those samples before
// the rewind ends, is marked once.
func TestRewindKeepsSampling(t *testing.T) {
	kc, brokers := rewindtest.Cluster(t)
	mon, _ := rewindMonitor(t, kc, Config{SampleInterval: 50 * time.Millisecond, RewindWait: time.Minute})
	committed := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	rewindtest.Start(t, rewindtest.Options{Brokers: brokers, Group: kc.Group, Topic: kc.Topic, ClientID: "pulse-member",
		BeforeAck: func(ctx context.Context, _ record.RewindRequest) {
			once.Do(func() { close(committed) })
			select {
			case <-release:
			case <-ctx.Done():
			}
		}})
	var releaseOnce sync.Once
	releaseAcks := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseAcks() // a failing test lets the rewind end
	stableWith(t, mon, 1)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { _ = mon.Run(ctx) })
	pulsetest.WaitFor(t, 10*time.Second, "a first sample", func() error {
		_, err := mon.Consumers(ctx)
		return err
	})

	type result struct {
		plan kafka.RewindPlan
		err  error
	}
	done := make(chan result, 1)
	wg.Go(func() {
		plan, err := mon.Rewind(ctx, kafka.Target{Kind: kafka.ToEarliest}, nil, false)
		done <- result{plan, err}
	})
	<-committed
	// The member moved the offsets and holds its acknowledgement back.
	pulsetest.WaitFor(t, 10*time.Second, "a sample of the moved offsets while the rewind waits", func() error {
		v, err := mon.Consumers(ctx)
		if err != nil {
			return err
		}
		for _, p := range v.Partitions {
			if p.CommittedOffset != 0 {
				return fmt.Errorf("partition %d committed at %d, sampled at %s", p.Partition, p.CommittedOffset, v.SampledAt)
			}
		}
		return nil
	})
	releaseAcks()
	r := <-done
	if r.err != nil || !r.plan.Applied || r.plan.Records != 3*rewindtest.Records {
		t.Fatalf("rewind = %+v, %v; want applied, %d records", r.plan, r.err, 3*rewindtest.Records)
	}
	// Samples after the rewind mark nothing more either.
	ended := time.Now()
	pulsetest.WaitFor(t, 10*time.Second, "samples after the rewind", func() error {
		v, err := mon.Consumers(ctx)
		if err != nil {
			return err
		}
		if !v.SampledAt.After(ended.Add(100 * time.Millisecond)) {
			return fmt.Errorf("last sample at %s", v.SampledAt)
		}
		return nil
	})
	ms := rewindMarkers(t, mon)
	if len(ms) != 1 || !strings.Contains(ms[0].Detail, "to earliest") {
		t.Errorf("rewind markers %+v; want one, the rewind's", ms)
	}
}
