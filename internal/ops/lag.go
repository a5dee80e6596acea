package ops

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/pipeline"
)

// PartitionView is one partition of the events topic as the group sees it.
type PartitionView struct {
	Partition int32  `json:"partition"`
	Member    string `json:"member"`
	// CommittedOffset is -1 when nothing is committed.
	CommittedOffset int64 `json:"committed_offset"`
	EndOffset       int64 `json:"end_offset"`
	Lag             int64 `json:"lag"`
	// LagSeconds is the age of the oldest unprocessed record (the one at
	// the committed offset); 0 when Lag is 0.
	LagSeconds float64 `json:"lag_seconds"`
	// LowestUnfinished is known when the owner runs in this process.
	LowestUnfinished *int64 `json:"lowest_unfinished"`
}

// MemberView is one member of the group. The counters are set for the
// members running in this process.
type MemberView struct {
	MemberID     string     `json:"member_id"`
	ClientID     string     `json:"client_id"`
	Host         string     `json:"host"`
	Partitions   []int32    `json:"partitions"`
	Local        bool       `json:"local"`
	Processed    *int64     `json:"processed,omitempty"`
	DeadLettered *int64     `json:"dead_lettered,omitempty"`
	Retried      *int64     `json:"retried,omitempty"`
	InFlight     *int       `json:"in_flight,omitempty"`
	LastCommitAt *time.Time `json:"last_commit_at,omitempty"`
}

// ConsumersView is the answer of GET /api/consumers/.
type ConsumersView struct {
	Group      string          `json:"group"`
	Topic      string          `json:"topic"`
	State      string          `json:"state"`
	Members    []MemberView    `json:"members"`
	Partitions []PartitionView `json:"partitions"`
	TotalLag   int64           `json:"total_lag"`
	// MaxLagSeconds is the largest LagSeconds over the partitions.
	MaxLagSeconds float64 `json:"max_lag_seconds"`
	// FreshnessSeconds is now minus created_at of the newest stored event.
	FreshnessSeconds float64   `json:"freshness_seconds"`
	SampledAt        time.Time `json:"sampled_at"`
}

// HistoryPoint is one sample of the lag history.
type HistoryPoint struct {
	T               time.Time `json:"t"`
	TotalLag        int64     `json:"total_lag"`
	MaxLagSeconds   float64   `json:"max_lag_seconds"`
	EventsPerSecond float64   `json:"events_per_second"`
}

// History is the answer of GET /api/consumers/history/.
type History struct {
	IntervalSeconds float64        `json:"interval_seconds"`
	Points          []HistoryPoint `json:"points"`
	Markers         []event.Marker `json:"markers"`
}

// headTS is the timestamp of the record at a partition's committed offset.
type headTS struct {
	off int64
	ts  time.Time
}

// Consumers returns the latest sample of the group, taking one first if
// none was taken yet.
func (o *Ops) Consumers(ctx context.Context) (ConsumersView, error) {
	o.mu.Lock()
	v := o.view
	o.mu.Unlock()
	if v == nil {
		if err := o.sample(ctx); err != nil {
			return ConsumersView{}, err
		}
		o.mu.Lock()
		v = o.view
		o.mu.Unlock()
	}
	return *v, nil
}

// History returns the lag history and the markers of the last hour.
func (o *Ops) History() History {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := History{
		IntervalSeconds: o.cfg.HistoryInterval.Seconds(),
		Points:          make([]HistoryPoint, 0, len(o.points)),
		Markers:         append([]event.Marker{}, o.markers...),
	}
	if len(o.points) < o.cfg.HistoryLen {
		h.Points = append(h.Points, o.points...)
	} else {
		h.Points = append(h.Points, o.points[o.pointPos:]...)
		h.Points = append(h.Points, o.points[:o.pointPos]...)
	}
	return h
}

// sample reads the group's offsets and the timestamps of the records at
// its committed offsets, and raises rebalance and commit-stall markers.
func (o *Ops) sample(ctx context.Context) error {
	o.sampleMu.Lock()
	defer o.sampleMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lag, err := o.deps.Admin.GroupLag(ctx, o.cfg.Group, o.cfg.Topic)
	if err != nil {
		return fmt.Errorf("sample consumer group %s: %w", o.cfg.Group, err)
	}
	snaps := make([]pipeline.Snapshot, 0, len(o.deps.Members))
	for _, m := range o.deps.Members {
		snaps = append(snaps, m.Snapshot())
	}
	heads := o.headTimestamps(ctx, lag.Partitions)
	now := o.now()
	v := buildView(lag, snaps, heads, now)
	if o.deps.Store != nil {
		if latest, err := o.deps.Store.LatestEvents(ctx, 1); err != nil {
			o.log.Warn("read the newest event for freshness", "err", err)
		} else if len(latest) > 0 {
			v.FreshnessSeconds = max(0, now.Sub(latest[0].CreatedAt).Seconds())
		}
	}
	o.lagRecords.Reset()
	o.lagSeconds.Reset()
	for _, p := range v.Partitions {
		label := strconv.Itoa(int(p.Partition))
		o.lagRecords.WithLabelValues(label).Set(float64(p.Lag))
		o.lagSeconds.WithLabelValues(label).Set(p.LagSeconds)
	}
	o.members.Set(float64(len(v.Members)))
	o.freshness.Set(v.FreshnessSeconds)
	o.mu.Lock()
	first := o.view == nil
	o.view = &v
	o.mu.Unlock()
	if first {
		// The history starts with the first sample rather than a
		// HistoryInterval later.
		o.recordPoint()
	}
	o.raise(o.det.group(now, lag))
	return nil
}

// buildView joins the broker's view of the group with the local members'
// snapshots and the head record timestamps.
func buildView(lag kafka.GroupLag, snaps []pipeline.Snapshot, heads map[int32]headTS, now time.Time) ConsumersView {
	v := ConsumersView{
		Group: lag.Group, Topic: lag.Topic, State: lag.State,
		Members: []MemberView{}, Partitions: []PartitionView{},
		TotalLag: lag.TotalLag, SampledAt: now.UTC(),
	}
	local := make(map[string]pipeline.Snapshot, len(snaps))
	lowest := make(map[int32]int64)
	for _, s := range snaps {
		local[s.ConsumerID] = s
		for _, w := range s.Watermarks {
			if w.LowestUnfinished >= 0 {
				lowest[w.Partition] = w.LowestUnfinished
			}
		}
	}
	for _, m := range lag.Members {
		mv := MemberView{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.Host, Partitions: slices.Clone(m.Partitions)}
		if s, ok := local[m.ClientID]; ok {
			mv.Local = true
			mv.Processed, mv.DeadLettered, mv.Retried = &s.Processed, &s.DeadLettered, &s.Retried
			mv.InFlight = &s.InFlight
			mv.LastCommitAt = s.LastCommitAt
		}
		if mv.Partitions == nil {
			mv.Partitions = []int32{}
		}
		v.Members = append(v.Members, mv)
	}
	for _, p := range lag.Partitions {
		pv := PartitionView{
			Partition: p.Partition, Member: p.Member, CommittedOffset: p.CommittedOffset,
			EndOffset: p.EndOffset, Lag: p.Lag,
		}
		if h, ok := heads[p.Partition]; ok && p.Lag > 0 {
			pv.LagSeconds = max(0, now.Sub(h.ts).Seconds())
		}
		if off, ok := lowest[p.Partition]; ok {
			pv.LowestUnfinished = &off
		}
		v.MaxLagSeconds = max(v.MaxLagSeconds, pv.LagSeconds)
		v.Partitions = append(v.Partitions, pv)
	}
	return v
}

// headTimestamps returns, for each partition with lag, the timestamp of
// the oldest unprocessed record: the one at the committed offset (the log
// start when nothing is committed). Timestamps are cached by offset, so a
// record is fetched once however long it holds its partition.
func (o *Ops) headTimestamps(ctx context.Context, parts []kafka.PartitionLag) map[int32]headTS {
	out := make(map[int32]headTS)
	fetch := make(map[int32]kgo.Offset)
	for _, p := range parts {
		if p.Lag <= 0 {
			delete(o.heads, p.Partition)
			continue
		}
		if h, ok := o.heads[p.Partition]; ok && h.off == p.CommittedOffset {
			out[p.Partition] = h
			continue
		}
		if p.CommittedOffset < 0 {
			fetch[p.Partition] = kgo.NewOffset().AtStart()
		} else {
			fetch[p.Partition] = kgo.NewOffset().At(p.CommittedOffset)
		}
	}
	if len(fetch) == 0 {
		return out
	}
	got, err := o.firstRecords(ctx, o.cfg.Topic, fetch)
	if err != nil {
		o.log.Warn("read head records for lag in seconds", "topic", o.cfg.Topic, "err", err)
	}
	committed := make(map[int32]int64, len(parts))
	for _, p := range parts {
		committed[p.Partition] = p.CommittedOffset
	}
	for p, r := range got {
		h := headTS{off: committed[p], ts: r.Timestamp}
		o.heads[p] = h
		out[p] = h
	}
	return out
}

// firstRecords reads the first record at or after each given offset,
// with a client that lives for this call only.
func (o *Ops) firstRecords(ctx context.Context, topic string, offsets map[int32]kgo.Offset) (map[int32]*kgo.Record, error) {
	opts := append(slices.Clone(o.cfg.ClientOpts),
		kgo.ClientID("pulse-ops"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
		kgo.FetchMaxWait(250*time.Millisecond),
		// As the pipeline reads: an aborted record is no one's lag.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("new reader client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out := make(map[int32]*kgo.Record, len(offsets))
	for len(out) < len(offsets) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("read first records of %s: %w", topic, ctx.Err())
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return out, fmt.Errorf("read first records of %s: %w", topic, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := out[r.Partition]; !ok {
				out[r.Partition] = r
			}
		})
	}
	return out, nil
}

// recordPoint appends a history point from the latest sample.
func (o *Ops) recordPoint() {
	o.mu.Lock()
	v := o.view
	o.mu.Unlock()
	if v == nil {
		return
	}
	p := HistoryPoint{T: o.now().UTC(), TotalLag: v.TotalLag, MaxLagSeconds: v.MaxLagSeconds}
	if o.deps.Stats != nil {
		p.EventsPerSecond = o.deps.Stats.Snapshot().EventsPerSecond
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.points) < o.cfg.HistoryLen {
		o.points = append(o.points, p)
		return
	}
	o.points[o.pointPos] = p
	o.pointPos = (o.pointPos + 1) % o.cfg.HistoryLen
}

// checkDLQ counts dead letters and raises a burst marker.
func (o *Ops) checkDLQ() {
	var n int64
	if o.deps.Stats != nil {
		n = o.deps.Stats.Queue().DeadLettered
	} else {
		for _, m := range o.deps.Members {
			n += m.Snapshot().DeadLettered
		}
	}
	o.raise(o.det.deadLetters(o.now(), n))
}

// detector turns successive samples into markers.
type detector struct {
	stallAfter time.Duration
	window     time.Duration
	threshold  int64

	// assignment is the last Stable assignment seen, "" before one.
	assignment string
	parts      map[int32]*partTrack

	dlq       []countAt
	lastBurst time.Time
}

type partTrack struct {
	committed int64
	movedAt   time.Time
	stalled   bool
}

type countAt struct {
	t time.Time
	n int64
}

func newDetector(cfg Config) *detector {
	return &detector{
		stallAfter: cfg.StallAfter,
		window:     cfg.BurstWindow,
		threshold:  int64(cfg.BurstThreshold),
		parts:      make(map[int32]*partTrack),
	}
}

// group raises a rebalance marker when the Stable assignment differs from
// the previous Stable one, and a commit-stall marker when a partition
// with lag has kept its committed offset for stallAfter.
func (d *detector) group(now time.Time, lag kafka.GroupLag) []event.Marker {
	var out []event.Marker
	if lag.State == "Stable" {
		a := assignment(lag.Members)
		if d.assignment != "" && a != d.assignment {
			out = append(out, event.Marker{T: now.UTC(), Kind: event.MarkerRebalance,
				Detail: fmt.Sprintf("group %s reassigned its partitions: %d members (%s)", lag.Group, len(lag.Members), a)})
		}
		d.assignment = a
	}
	seen := make(map[int32]bool, len(lag.Partitions))
	for _, p := range lag.Partitions {
		seen[p.Partition] = true
		t, ok := d.parts[p.Partition]
		if !ok {
			d.parts[p.Partition] = &partTrack{committed: p.CommittedOffset, movedAt: now}
			continue
		}
		if p.CommittedOffset != t.committed || p.Lag == 0 {
			t.committed, t.movedAt, t.stalled = p.CommittedOffset, now, false
			continue
		}
		if !t.stalled && now.Sub(t.movedAt) >= d.stallAfter {
			t.stalled = true
			out = append(out, event.Marker{T: now.UTC(), Kind: event.MarkerCommitStall,
				Detail: fmt.Sprintf("partition %d: committed offset %d unchanged for %s with %d records of lag",
					p.Partition, p.CommittedOffset, now.Sub(t.movedAt).Round(time.Second), p.Lag)})
		}
	}
	for p := range d.parts {
		if !seen[p] {
			delete(d.parts, p)
		}
	}
	return out
}

// assignment is a canonical text of who owns which partitions.
func assignment(members []kafka.GroupMember) string {
	parts := make([]string, 0, len(members))
	for _, m := range members {
		ps := make([]string, len(m.Partitions))
		for i, p := range m.Partitions {
			ps[i] = fmt.Sprint(p)
		}
		parts = append(parts, m.ClientID+"="+strings.Join(ps, ","))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// deadLetters takes the running count of dead letters and raises a burst
// marker when it grew by more than the threshold within the window. One
// burst raises one marker: the next may come a window later.
func (d *detector) deadLetters(now time.Time, n int64) []event.Marker {
	d.dlq = append(d.dlq, countAt{now, n})
	// Keep the newest sample at or before the window's start as the base.
	i := 0
	for i+1 < len(d.dlq) && !d.dlq[i+1].t.After(now.Add(-d.window)) {
		i++
	}
	d.dlq = append(d.dlq[:0], d.dlq[i:]...)
	base := d.dlq[0].n
	// A reset of the statistics (retention) lowers the count: start over.
	for _, c := range d.dlq {
		base = min(base, c.n)
	}
	delta := n - base
	if delta <= d.threshold || (!d.lastBurst.IsZero() && now.Sub(d.lastBurst) < d.window) {
		return nil
	}
	d.lastBurst = now
	return []event.Marker{{T: now.UTC(), Kind: event.MarkerDLQBurst,
		Detail: fmt.Sprintf("%d records dead-lettered within %s", delta, d.window)}}
}
