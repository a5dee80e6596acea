// Package monitor watches the consumer group for the operator console:
// lag in records and in seconds per partition, a lag history kept in the
// app with markers for rebalances, commit stalls and dead-letter bursts,
// and the keys held back by the ordering rules in this process.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/metrics"
	"github.com/pulse-dev/pulse/internal/pipeline"
	"github.com/pulse-dev/pulse/internal/series"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultSampleInterval  = 2 * time.Second
	DefaultHistoryInterval = series.LagInterval
	DefaultStallAfter      = 10 * time.Second
	DefaultBurstWindow     = 5 * time.Second
	DefaultBurstThreshold  = 10
)

// Config configures the group monitor. Group and Topic are
// required; zero durations and counts take the defaults above.
type Config struct {
	Group string
	Topic string
	// ClientOpts reach the cluster (seed brokers, SASL, TLS); the monitor
	// reads record timestamps with short-lived clients built from them.
	ClientOpts []kgo.Opt

	// SampleInterval is how often the group's lag is sampled in the
	// background; GET /api/consumers/ answers the latest sample.
	SampleInterval time.Duration
	// HistoryInterval spaces the lag samples kept in the store.
	HistoryInterval time.Duration
	// StallAfter marks a commit stall: a partition with lag whose
	// committed offset has not moved for this long.
	StallAfter time.Duration
	// BurstWindow and BurstThreshold mark a DLQ burst: more than
	// BurstThreshold dead letters within BurstWindow.
	BurstWindow    time.Duration
	BurstThreshold int
	// RewindWait bounds how long a rewind of a running group waits for
	// its members to move their partitions (kafka.DefaultRewindWait).
	RewindWait time.Duration

	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (c *Config) defaults() {
	setDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur(&c.SampleInterval, DefaultSampleInterval)
	setDur(&c.HistoryInterval, DefaultHistoryInterval)
	setDur(&c.StallAfter, DefaultStallAfter)
	setDur(&c.BurstWindow, DefaultBurstWindow)
	setDur(&c.RewindWait, kafka.DefaultRewindWait)
	if c.BurstThreshold <= 0 {
		c.BurstThreshold = DefaultBurstThreshold
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Member is a consumer-group member running in this process.
type Member interface {
	Snapshot() pipeline.Snapshot
}

// LatestReader reads the newest stored events; freshness is measured on
// the newest one.
type LatestReader interface {
	LatestEvents(ctx context.Context, limit int) ([]event.Stored, error)
}

// HistoryStore keeps the lag samples and the markers (the store), so that
// the history survives a restart and is the same on every server.
type HistoryStore interface {
	WriteLag(ctx context.Context, p series.LagPoint) error
	LagSeries(ctx context.Context, from, to time.Time, step time.Duration) ([]series.LagPoint, error)
	WriteMarkers(ctx context.Context, ms []event.Marker) error
	Markers(ctx context.Context, from, to time.Time, limit int) ([]event.Marker, error)
}

// Publisher carries markers to the live charts.
type Publisher interface {
	Publish(event.Change)
}

// Deps are the parts the monitor works with. Admin and History are
// required; Members may be empty (a process without consumers), Stats,
// Store and Bus nil (no freshness, rate or live markers then).
type Deps struct {
	Admin   *kafka.Admin
	History HistoryStore
	Members []Member
	Stats   *live.Stats
	Store   LatestReader
	Bus     Publisher
}

// Group monitors the consumer group: lag in records and seconds, a lag
// history with markers, and the ordering view of this process's members.
// Create it with New and run it with Run.
type Group struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time

	markersOut *prometheus.CounterVec
	lagRecords *prometheus.GaugeVec
	lagSeconds *prometheus.GaugeVec
	members    prometheus.Gauge
	freshness  prometheus.Gauge

	// sampleMu serialises samples (the background loop and a first
	// request that finds none).
	sampleMu sync.Mutex
	heads    map[int32]headTS
	det      *detector

	mu   sync.Mutex
	view *ConsumersView
}

// New returns the group monitor.
func New(cfg Config, deps Deps, log *slog.Logger, reg prometheus.Registerer) (*Group, error) {
	if cfg.Group == "" || cfg.Topic == "" {
		return nil, errors.New("new group monitor: group and topic are required")
	}
	if deps.Admin == nil {
		return nil, errors.New("new group monitor: a Kafka admin is required")
	}
	if deps.History == nil {
		return nil, errors.New("new group monitor: a history store is required")
	}
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mon := &Group{
		cfg:   cfg,
		deps:  deps,
		log:   log.With("component", "monitor"),
		now:   cfg.Now,
		heads: make(map[int32]headTS),
		det:   newDetector(cfg),
		markersOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ops_markers_total", Help: "Operational markers raised, by kind.",
		}, []string{"kind"}),
		lagRecords: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pulse_consumer_lag_records", Help: "Records the consumer group has yet to process, by partition (sampled).",
		}, []string{"partition"}),
		lagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pulse_consumer_lag_seconds", Help: "Age of the oldest unprocessed record, by partition (sampled).",
		}, []string{"partition"}),
		members: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_consumer_group_members", Help: "Members of the consumer group (sampled).",
		}),
		freshness: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_consumer_freshness_seconds", Help: "Time since the newest stored event was stored (sampled).",
		}),
	}
	// A collector reg refuses (a clashing description) still counts,
	// unexported.
	_ = metrics.Register(reg, &mon.markersOut)
	_ = metrics.Register(reg, &mon.lagRecords)
	_ = metrics.Register(reg, &mon.lagSeconds)
	_ = metrics.Register(reg, &mon.members)
	_ = metrics.Register(reg, &mon.freshness)
	return mon, nil
}

// Run samples the consumer group until ctx ends.
func (mon *Group) Run(ctx context.Context) error {
	sampleT := time.NewTicker(mon.cfg.SampleInterval)
	defer sampleT.Stop()
	historyT := time.NewTicker(mon.cfg.HistoryInterval)
	defer historyT.Stop()
	// Dead letters are counted every second whatever the sampling
	// interval, so a burst is measured over its real window.
	dlqT := time.NewTicker(min(time.Second, mon.cfg.BurstWindow/5))
	defer dlqT.Stop()

	// The first dead-letter count is the base a burst is measured from.
	mon.checkDLQ()
	mon.sampleOrWarn(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sampleT.C:
			mon.sampleOrWarn(ctx)
		case <-historyT.C:
			mon.recordPoint(ctx)
		case <-dlqT.C:
			mon.checkDLQ()
		}
	}
}

// sampleOrWarn samples the group in the background, where a failure is
// logged and the next tick tries again. Consumers returns the same error
// to its caller instead, which logs it once.
func (mon *Group) sampleOrWarn(ctx context.Context) {
	if err := mon.sample(ctx); err != nil {
		mon.log.Warn("sample consumer group", "group", mon.cfg.Group, "err", err)
	}
}

// raise keeps markers, publishes them on the live bus and counts them.
func (mon *Group) raise(ms []event.Marker) {
	if len(ms) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := mon.deps.History.WriteMarkers(ctx, ms); err != nil {
		mon.log.Warn("keep markers", "err", err)
	}
	for _, m := range ms {
		mon.markersOut.WithLabelValues(string(m.Kind)).Inc()
		mon.log.Info("marker", "kind", m.Kind, "detail", m.Detail)
	}
	if mon.deps.Bus != nil {
		mon.deps.Bus.Publish(event.Change{Markers: ms})
	}
}

// maxMarkers bounds the markers a history answers, whatever their rate.
const maxMarkers = 1000

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
	// Local are the snapshots of this process's members taken with the
	// sample, whether or not the group lists them yet; the members' own
	// view for /api/consumer_metrics/.
	Local []pipeline.Snapshot `json:"-"`
}

// HistoryPoint is one point of the lag history.
type HistoryPoint = series.LagPoint

// History is the answer of GET /api/consumers/history/: the lag per step
// of the range (the highest sample of each step; steps without a sample,
// when no server was monitoring, are absent) and the markers in it.
type History struct {
	Range string `json:"range"`
	// IntervalSeconds is how often the lag is sampled; StepSeconds spaces
	// the points.
	IntervalSeconds float64        `json:"interval_seconds"`
	StepSeconds     float64        `json:"step_seconds"`
	From            time.Time      `json:"from"`
	To              time.Time      `json:"to"`
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
func (mon *Group) Consumers(ctx context.Context) (ConsumersView, error) {
	mon.mu.Lock()
	v := mon.view
	mon.mu.Unlock()
	if v == nil {
		if err := mon.sample(ctx); err != nil {
			return ConsumersView{}, err
		}
		mon.mu.Lock()
		v = mon.view
		mon.mu.Unlock()
	}
	return *v, nil
}

// History returns the lag history and the markers of range r, read from
// the store.
func (mon *Group) History(ctx context.Context, r series.Range) (History, error) {
	now := mon.now()
	// Lag is drawn up to now, the second now is in included: the step
	// still filling holds the newest sample. Steps are on the Unix-time
	// grid, as the events series.
	from, to := r.Window(now)
	points, err := mon.deps.History.LagSeries(ctx, from, to, r.Step)
	if err != nil {
		return History{}, fmt.Errorf("lag history: %w", err)
	}
	markers, err := mon.deps.History.Markers(ctx, from, to, maxMarkers)
	if err != nil {
		return History{}, fmt.Errorf("markers: %w", err)
	}
	return History{
		Range: r.Name, IntervalSeconds: mon.cfg.HistoryInterval.Seconds(), StepSeconds: r.Step.Seconds(),
		From: from, To: to, Points: points, Markers: markers,
	}, nil
}

// sample reads the group's offsets and the timestamps of the records at
// its committed offsets, and raises rebalance and commit-stall markers.
func (mon *Group) sample(ctx context.Context) error {
	mon.sampleMu.Lock()
	defer mon.sampleMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lag, err := mon.deps.Admin.GroupLag(ctx, mon.cfg.Group, mon.cfg.Topic)
	if err != nil {
		return fmt.Errorf("sample consumer group %s: %w", mon.cfg.Group, err)
	}
	snaps := make([]pipeline.Snapshot, 0, len(mon.deps.Members))
	for _, m := range mon.deps.Members {
		snaps = append(snaps, m.Snapshot())
	}
	heads := mon.headTimestamps(ctx, lag.Partitions)
	now := mon.now()
	v := buildView(lag, snaps, heads, now)
	if mon.deps.Store != nil {
		if latest, err := mon.deps.Store.LatestEvents(ctx, 1); err != nil {
			mon.log.Warn("read the newest event for freshness", "err", err)
		} else if len(latest) > 0 {
			v.FreshnessSeconds = max(0, now.Sub(latest[0].CreatedAt).Seconds())
		}
	}
	mon.lagRecords.Reset()
	mon.lagSeconds.Reset()
	for _, p := range v.Partitions {
		label := strconv.Itoa(int(p.Partition))
		mon.lagRecords.WithLabelValues(label).Set(float64(p.Lag))
		mon.lagSeconds.WithLabelValues(label).Set(p.LagSeconds)
	}
	mon.members.Set(float64(len(v.Members)))
	mon.freshness.Set(v.FreshnessSeconds)
	mon.mu.Lock()
	first := mon.view == nil
	mon.view = &v
	mon.mu.Unlock()
	if first {
		// The history starts with the first sample rather than a
		// HistoryInterval later.
		mon.recordPoint(ctx)
	}
	mon.raise(mon.det.group(now, lag))
	return nil
}

// buildView joins the broker's view of the group with the local members'
// snapshots and the head record timestamps.
func buildView(lag kafka.GroupLag, snaps []pipeline.Snapshot, heads map[int32]headTS, now time.Time) ConsumersView {
	v := ConsumersView{
		Group: lag.Group, Topic: lag.Topic, State: lag.State,
		Members: []MemberView{}, Partitions: []PartitionView{},
		TotalLag: lag.TotalLag, SampledAt: now.UTC(), Local: snaps,
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
func (mon *Group) headTimestamps(ctx context.Context, parts []kafka.PartitionLag) map[int32]headTS {
	out := make(map[int32]headTS)
	fetch := make(map[int32]kgo.Offset)
	for _, p := range parts {
		if p.Lag <= 0 {
			delete(mon.heads, p.Partition)
			continue
		}
		if h, ok := mon.heads[p.Partition]; ok && h.off == p.CommittedOffset {
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
	got, err := mon.firstRecords(ctx, mon.cfg.Topic, fetch)
	if err != nil {
		mon.log.Warn("read head records for lag in seconds", "topic", mon.cfg.Topic, "err", err)
	}
	committed := make(map[int32]int64, len(parts))
	for _, p := range parts {
		committed[p.Partition] = p.CommittedOffset
	}
	for p, r := range got {
		h := headTS{off: committed[p], ts: r.Timestamp}
		mon.heads[p] = h
		out[p] = h
	}
	return out
}

// firstRecords reads the first record at or after each given offset,
// with a client that lives for this call only.
func (mon *Group) firstRecords(ctx context.Context, topic string, offsets map[int32]kgo.Offset) (map[int32]*kgo.Record, error) {
	opts := append(slices.Clone(mon.cfg.ClientOpts),
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
func (mon *Group) recordPoint(ctx context.Context) {
	mon.mu.Lock()
	v := mon.view
	mon.mu.Unlock()
	if v == nil {
		return
	}
	// Samples are on the interval's grid, so that two servers monitoring
	// one group write one sample per time, the later replacing the other.
	p := HistoryPoint{T: mon.now().Truncate(mon.cfg.HistoryInterval).UTC(), TotalLag: v.TotalLag, MaxLagSeconds: v.MaxLagSeconds}
	if mon.deps.Stats != nil {
		p.EventsPerSecond = mon.deps.Stats.Snapshot().EventsPerSecond
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := mon.deps.History.WriteLag(ctx, p); err != nil && ctx.Err() == nil {
		mon.log.Warn("keep lag sample", "err", err)
	}
}

// checkDLQ counts dead letters and raises a burst marker.
func (mon *Group) checkDLQ() {
	var n int64
	if mon.deps.Stats != nil {
		n = mon.deps.Stats.Queue().DeadLettered
	} else {
		for _, m := range mon.deps.Members {
			n += m.Snapshot().DeadLettered
		}
	}
	mon.raise(mon.det.deadLetters(mon.now(), n))
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

	// rewinding counts the rewinds under way through the monitor, per
	// partition (rewindingAll: of every partition): a backward move of
	// their partitions is theirs, marked once when they end.
	rewinding    map[int32]int
	rewindingAll int
}

type partTrack struct {
	committed int64
	movedAt   time.Time
	stalled   bool
}

func newDetector(cfg Config) *detector {
	return &detector{
		stallAfter: cfg.StallAfter,
		window:     cfg.BurstWindow,
		threshold:  int64(cfg.BurstThreshold),
		parts:      make(map[int32]*partTrack),
		rewinding:  make(map[int32]int),
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
	var back []event.RewoundRange
	var backRecords int64
	for _, p := range lag.Partitions {
		seen[p.Partition] = true
		t, ok := d.parts[p.Partition]
		if !ok {
			d.parts[p.Partition] = &partTrack{committed: p.CommittedOffset, movedAt: now}
			continue
		}
		if p.CommittedOffset >= 0 && p.CommittedOffset < t.committed && !d.isRewinding(p.Partition) {
			// The group never commits backwards itself: someone rewound
			// it (pulse topics rewind, another tool). Rewinds through
			// the monitor are marked by Rewind: the move is seen while
			// it is under way, or after it told where it moved to.
			back = append(back, event.RewoundRange{Partition: p.Partition, From: p.CommittedOffset, To: t.committed})
			backRecords += t.committed - p.CommittedOffset
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
	if len(back) > 0 {
		out = append(out, event.Marker{T: now.UTC(), Kind: event.MarkerRewind,
			Detail: event.RewindDetail(lag.Group, lag.Topic, "earlier offsets", back, backRecords)})
	}
	return out
}

// rewindStarted says a rewind of partitions (every partition when nil)
// is under way: until rewindEnded, samples leave their backward moves
// unmarked.
func (d *detector) rewindStarted(partitions []int32) {
	if partitions == nil {
		d.rewindingAll++
		return
	}
	for _, p := range partitions {
		d.rewinding[p]++
	}
}

// rewindEnded ends what rewindStarted began with the same partitions, and
// moves the tracked committed offsets to the targets of the partitions
// the rewind moved, so that no later sample marks it a second time.
func (d *detector) rewindEnded(partitions []int32, now time.Time, targets map[int32]int64) {
	if partitions == nil {
		d.rewindingAll--
	}
	for _, p := range partitions {
		if d.rewinding[p]--; d.rewinding[p] <= 0 {
			delete(d.rewinding, p)
		}
	}
	d.rewound(now, targets)
}

func (d *detector) isRewinding(p int32) bool {
	return d.rewindingAll > 0 || d.rewinding[p] > 0
}

// rewound moves the tracked committed offsets to a rewind's targets, so
// that the next sample does not mark the rewind a second time.
func (d *detector) rewound(now time.Time, targets map[int32]int64) {
	for p, off := range targets {
		if t, ok := d.parts[p]; ok {
			t.committed, t.movedAt, t.stalled = off, now, false
		}
	}
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

// countAt is a running count at a time.
type countAt struct {
	t time.Time
	n int64
}
