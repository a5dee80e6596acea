// Package rewindtest is test-only support for the tests of the rewinders
// (kafka.Admin.Rewind and what wraps it): a consumer-group member that
// applies a rewind as a Pulse consumer does, committing the targets of the
// partitions it owns with its own generation and acknowledging them on the
// control topic, without a pipeline; a test can hold its answers back.
// Only tests import it.
package rewindtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulse-dev/pulse/internal/record"
)

// Member is a member of a consumer group that applies rewinds.
type Member struct {
	group, topic, id string
	cl, ctrl         *kgo.Client

	mu    sync.Mutex
	owned map[int32]bool
}

// Options configure a Member. BeforeAck, when set, runs after the member
// committed a rewind's targets and before it acknowledges them: a test
// holds the rewind there, the offsets moved and the rewinder not yet told.
type Options struct {
	Brokers   []string
	Group     string
	Topic     string
	ClientID  string
	BeforeAck func(ctx context.Context, req record.RewindRequest)
}

// Start joins the group and answers rewinds until the test ends. The
// control topic record.RewindTopic(Topic) must exist.
func Start(t *testing.T, o Options) *Member {
	t.Helper()
	m := &Member{group: o.Group, topic: o.Topic, id: o.ClientID, owned: make(map[int32]bool)}
	var err error
	m.cl, err = kgo.NewClient(kgo.SeedBrokers(o.Brokers...), kgo.ClientID(o.ClientID),
		kgo.ConsumerGroup(o.Group), kgo.ConsumeTopics(o.Topic), kgo.DisableAutoCommit(),
		kgo.HeartbeatInterval(100*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.own(ps, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.own(ps, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.own(ps, false) }),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The control topic is read from its end, as a consumer does from
	// its start: requests sent before are not for it.
	m.ctrl, err = kgo.NewClient(kgo.SeedBrokers(o.Brokers...), kgo.ClientID(o.ClientID+"-rewinds"),
		kgo.ConsumeTopics(record.RewindTopic(o.Topic)), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		m.cl.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.answer(ctx, t, o.BeforeAck) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		m.ctrl.Close()
		m.cl.Close()
	})
	return m
}

func (m *Member) own(ps map[string][]int32, owned bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range ps[m.topic] {
		if owned {
			m.owned[p] = true
		} else {
			delete(m.owned, p)
		}
	}
}

// Owned returns the partitions the member owns now, in order.
func (m *Member) Owned() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.owned))
}

// answer applies the rewind requests of its group to the partitions it
// owns, each once.
func (m *Member) answer(ctx context.Context, t *testing.T, beforeAck func(context.Context, record.RewindRequest)) {
	done := make(map[string]bool) // rewind id and partition
	for ctx.Err() == nil {
		fs := m.ctrl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			req, _, err := record.ParseRewind(r)
			if err != nil || req == nil || req.Group != m.group || time.Now().After(req.Deadline) {
				return
			}
			mine := make(map[int32]kgo.EpochOffset)
			owned := m.Owned()
			for p, o := range req.Offsets {
				if slices.Contains(owned, p) && !done[req.ID+"/"+fmt.Sprint(p)] {
					mine[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
				}
			}
			if len(mine) == 0 {
				return
			}
			// CommitOffsetsSync returns once onDone has run.
			var cerr error
			m.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{m.topic: mine}, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
				cerr = err
				if resp == nil {
					return
				}
				for _, rt := range resp.Topics {
					for _, rp := range rt.Partitions {
						if e := kerr.ErrorForCode(rp.ErrorCode); e != nil && cerr == nil {
							cerr = fmt.Errorf("partition %d: %w", rp.Partition, e)
						}
					}
				}
			})
			if cerr != nil {
				if !errors.Is(cerr, context.Canceled) {
					t.Errorf("rewind member %s: commit %v: %v", m.id, mine, cerr)
				}
				return
			}
			if beforeAck != nil {
				beforeAck(ctx, *req)
			}
			for p, o := range mine {
				done[req.ID+"/"+fmt.Sprint(p)] = true
				kr, err := record.RewindAckRecord(m.topic, record.RewindAck{ID: req.ID, Group: m.group, Member: m.id, Partition: p, Offset: o.Offset})
				if err == nil {
					err = m.ctrl.ProduceSync(ctx, kr).FirstErr()
				}
				if err != nil && ctx.Err() == nil {
					t.Errorf("rewind member %s: acknowledge partition %d: %v", m.id, p, err)
				}
			}
		})
	}
}
