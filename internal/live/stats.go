// Package live turns the pipeline's changes into what dashboards see: the
// in-memory statistics, the bus that fans changes out (in process or over
// Redis), and the WebSocket hub.
package live

import (
	"hash/maphash"
	"sort"
	"sync"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

const (
	// rateWindow is the span events_per_second is averaged over.
	rateWindow = 10
	// recentWindow is the span of recent_5min, in seconds.
	recentWindow = 300
	// inFlightTTL expires an in-flight message that never settled, such as
	// one held by a consumer that crashed.
	inFlightTTL = 10 * time.Minute
	// sweepEvery bounds how often the in-flight map is scanned for expired
	// entries, so Apply stays O(1) amortised.
	sweepEvery = 30 * time.Second
	// seenCap bounds the memory of recently counted ids that guards against
	// counting a redelivered change twice.
	seenCap = 1 << 16
	// topN is the length of top_elements.
	topN = 10
)

// StatsJSON is the Stats shape of docs/api.md.
type StatsJSON struct {
	TotalEvents     int64            `json:"total_events"`
	EventTypes      map[string]int64 `json:"event_types"`
	TopElements     []ElementCount   `json:"top_elements"`
	Queue           QueueStats       `json:"queue"`
	EventsPerSecond float64          `json:"events_per_second"`
	Recent5Min      int64            `json:"recent_5min"`
}

// ElementCount is one entry of top_elements: a clicked element and how
// often it was clicked.
type ElementCount struct {
	ElementID string `json:"element_id"`
	Count     int64  `json:"count"`
}

// QueueStats is the QueueStats shape of docs/api.md: processing-log rows
// per status, stored and in flight.
type QueueStats struct {
	Total               int64   `json:"total"`
	Queued              int64   `json:"queued"`
	Processing          int64   `json:"processing"`
	Retrying            int64   `json:"retrying"`
	Completed           int64   `json:"completed"`
	Failed              int64   `json:"failed"`
	DeadLettered        int64   `json:"dead_lettered"`
	AvgProcessingTimeMS float64 `json:"avg_processing_time_ms"`
}

type inFlight struct {
	msg      event.Message
	lastSeen time.Time
}

// bucket counts the events stored during one wall-clock second.
type bucket struct {
	sec   int64
	count int64
}

// Stats keeps the dashboard statistics incrementally: each Apply is O(1)
// whatever the size of the database. It is seeded from the store's Totals
// at start and may be Reset from them periodically to correct drift. Stats
// is safe for concurrent use.
type Stats struct {
	now func() time.Time

	mu       sync.Mutex
	version  uint64
	total    int64
	types    map[string]int64
	clicks   map[string]int64
	terminal map[event.Status]int64 // stored processing-log rows per status
	procSum  float64
	procN    int64

	inFlight  map[string]*inFlight
	live      map[event.Status]int64 // in-flight messages per status
	lastSweep time.Time

	buckets [recentWindow]bucket
	// seed is the part of recent_5min known only from the store: it decays
	// linearly to zero over five minutes from seedAt, since the store does
	// not say when within the window those events arrived.
	seed   int64
	seedAt time.Time

	seenEvents seenSet
	seenDone   seenSet

	// since counts what Apply added after Mark, for Reconcile; nil when
	// no reconciliation is under way.
	since *applied
}

// applied is what Apply adds to the stored aggregates.
type applied struct {
	total    int64
	types    map[string]int64
	clicks   map[string]int64
	terminal map[event.Status]int64
	procSum  float64
	procN    int64
}

func newApplied() *applied {
	return &applied{types: map[string]int64{}, clicks: map[string]int64{}, terminal: map[event.Status]int64{}}
}

// NewStats returns statistics seeded from t. now is the clock; nil means
// time.Now.
func NewStats(t store.Totals, now func() time.Time) *Stats {
	if now == nil {
		now = time.Now
	}
	s := &Stats{
		now:        now,
		inFlight:   make(map[string]*inFlight),
		live:       make(map[event.Status]int64),
		seenEvents: newSeenSet(seenCap),
		seenDone:   newSeenSet(seenCap),
	}
	s.lastSweep = now()
	s.reset(t)
	return s
}

// Reset replaces the stored aggregates with t, keeping in-flight messages
// and the live rate buckets. Events applied between computing t and
// calling Reset are counted by the next reconciliation.
func (s *Stats) Reset(t store.Totals) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset(t)
	s.version++
}

func (s *Stats) reset(t store.Totals) {
	s.total = t.Events
	s.types = make(map[string]int64, len(t.EventTypes))
	for k, v := range t.EventTypes {
		s.types[k] = v
	}
	s.clicks = make(map[string]int64, len(t.Clicks))
	for k, v := range t.Clicks {
		s.clicks[k] = v
	}
	s.terminal = make(map[event.Status]int64, len(t.Messages))
	for k, v := range t.Messages {
		s.terminal[k] = v
	}
	s.procSum = t.ProcessingMSSum
	s.procN = t.ProcessingCount
	now := s.now()
	// The store's count already includes what the live buckets saw; only
	// the rest is seed.
	s.seed = max(0, t.Recent-s.liveSum(now.Unix(), recentWindow))
	s.seedAt = now
}

// Mark starts counting what Apply adds, for a Reconcile with totals the
// caller reads from the store after this call.
func (s *Stats) Mark() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.since = newApplied()
}

// Reconcile replaces the stored aggregates with t, read from the store
// after Mark, plus what Apply added since Mark: unlike Reset, the events
// that arrive while the store is read are not lost until the next
// reconciliation. The error left is the few changes published between
// their commit and the store's read snapshot, counted twice until the
// next reconciliation. Without a Mark it is Reset. It returns how many
// events the statistics had missed (negative: counted too many).
func (s *Stats) Reconcile(t store.Totals) (drift int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.since
	s.since = nil
	old := s.total
	s.reset(t)
	if d != nil {
		s.total += d.total
		for k, v := range d.types {
			s.types[k] += v
		}
		for k, v := range d.clicks {
			s.clicks[k] += v
		}
		for k, v := range d.terminal {
			s.terminal[k] = max(0, s.terminal[k]+v)
		}
		s.procSum += d.procSum
		s.procN += d.procN
	}
	s.version++
	return s.total - old
}

// Unmark ends a Mark whose totals could not be read.
func (s *Stats) Unmark() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.since = nil
}

// Apply folds one change into the statistics.
func (s *Stats) Apply(c event.Change) {
	if len(c.Events) == 0 && len(c.Messages) == 0 && len(c.Settled) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	sec := now.Unix()
	for i := range c.Events {
		e := &c.Events[i].Event
		if e.EventID != "" && !s.seenEvents.add(e.EventID) {
			continue
		}
		s.total++
		s.types[e.EventType]++
		if e.EventType == event.TypeButtonClick && e.ElementID != "" {
			s.clicks[e.ElementID]++
		}
		if d := s.since; d != nil {
			d.total++
			d.types[e.EventType]++
			if e.EventType == event.TypeButtonClick && e.ElementID != "" {
				d.clicks[e.ElementID]++
			}
		}
		b := &s.buckets[sec%recentWindow]
		if b.sec != sec {
			*b = bucket{sec: sec}
		}
		b.count++
	}
	for i := range c.Messages {
		m := &c.Messages[i]
		if m.Status.Terminal() {
			s.settle(m.EventID)
			if m.EventID != "" && !s.seenDone.add(doneKey(m)) {
				continue
			}
			s.terminal[m.Status]++
			d := s.since
			if d != nil {
				d.terminal[m.Status]++
			}
			if m.Status == event.StatusCompleted {
				s.procSum += m.DurationMS
				s.procN++
				if d != nil {
					d.procSum += m.DurationMS
					d.procN++
				}
				if replacesDeadLetter(m) && s.terminal[event.StatusDeadLettered] > 0 {
					s.terminal[event.StatusDeadLettered]--
					if d != nil {
						d.terminal[event.StatusDeadLettered]--
					}
				}
			}
			continue
		}
		if !m.Status.Valid() || s.seenDone.has(doneKey(m)) {
			// A late in-flight state of a message that already finished
			// must not bring it back.
			continue
		}
		if f, ok := s.inFlight[m.EventID]; ok {
			s.live[f.msg.Status]--
			f.msg, f.lastSeen = *m, now
		} else {
			s.inFlight[m.EventID] = &inFlight{msg: *m, lastSeen: now}
		}
		s.live[m.Status]++
	}
	for _, id := range c.Settled {
		s.settle(id)
	}
	s.version++
	if now.Sub(s.lastSweep) >= sweepEvery {
		s.sweep(now)
	}
}

// doneKey is what a finished message is remembered by: its event id, and
// for a DLQ replay the replayed record too, so that the replay of a
// message already counted as dead-lettered is counted again, once.
func doneKey(m *event.Message) string {
	if m.ReplayOf == "" {
		return m.EventID
	}
	return m.EventID + "\x00" + m.ReplayOf
}

// replacesDeadLetter reports whether m, a newly stored completed message,
// is a DLQ replay that replaced its dead-lettered row in the store (see
// the store's Write): one dead letter became a completion. A replay whose
// id the pipeline derived from the replay record itself (no event_id in
// its payload, no replay_event_id header: one made by hand) matches no
// dead-lettered row, so nothing was replaced.
func replacesDeadLetter(m *event.Message) bool {
	return m.ReplayOf != "" && !m.IDDerived
}

func (s *Stats) settle(id string) {
	if f, ok := s.inFlight[id]; ok {
		s.live[f.msg.Status]--
		delete(s.inFlight, id)
	}
}

func (s *Stats) sweep(now time.Time) {
	s.lastSweep = now
	for id, f := range s.inFlight {
		if now.Sub(f.lastSeen) > inFlightTTL {
			s.live[f.msg.Status]--
			delete(s.inFlight, id)
			s.version++
		}
	}
}

// liveSum adds the buckets of the n seconds up to and including sec.
func (s *Stats) liveSum(sec int64, n int64) int64 {
	var sum int64
	for i := int64(0); i < n; i++ {
		b := s.buckets[(sec-i)%recentWindow]
		if b.sec == sec-i {
			sum += b.count
		}
	}
	return sum
}

// Version changes whenever the statistics do, so a poller can tell whether
// a new snapshot is worth sending.
func (s *Stats) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// Snapshot returns the current statistics.
func (s *Stats) Snapshot() StatsJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.maybeSweep(now)
	sec := now.Unix()
	types := make(map[string]int64, len(s.types))
	for k, v := range s.types {
		if v > 0 {
			types[k] = v
		}
	}
	recent := s.liveSum(sec, recentWindow)
	if s.seed > 0 {
		if left := recentWindow*time.Second - now.Sub(s.seedAt); left > 0 {
			recent += int64(float64(s.seed) * float64(left) / float64(recentWindow*time.Second))
		}
	}
	// The current second is still filling; the rate is taken over the ten
	// complete seconds before it.
	rate := float64(s.liveSum(sec-1, rateWindow)) / rateWindow
	return StatsJSON{
		TotalEvents:     s.total,
		EventTypes:      types,
		TopElements:     topElements(s.clicks, topN),
		Queue:           s.queue(),
		EventsPerSecond: rate,
		Recent5Min:      recent,
	}
}

// Queue returns the processing-log counts.
func (s *Stats) Queue() QueueStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maybeSweep(s.now())
	return s.queue()
}

func (s *Stats) maybeSweep(now time.Time) {
	if now.Sub(s.lastSweep) >= sweepEvery {
		s.sweep(now)
	}
}

func (s *Stats) queue() QueueStats {
	q := QueueStats{
		Queued:       s.live[event.StatusQueued],
		Processing:   s.live[event.StatusProcessing],
		Retrying:     s.live[event.StatusRetrying],
		Completed:    s.terminal[event.StatusCompleted],
		Failed:       s.terminal[event.StatusFailed],
		DeadLettered: s.terminal[event.StatusDeadLettered],
	}
	for _, v := range s.terminal {
		q.Total += v
	}
	q.Total += int64(len(s.inFlight))
	if s.procN > 0 {
		q.AvgProcessingTimeMS = s.procSum / float64(s.procN)
	}
	return q
}

// InFlight returns the messages not yet settled, newest first.
func (s *Stats) InFlight() []event.Message {
	s.mu.Lock()
	s.maybeSweep(s.now())
	out := make([]event.Message, 0, len(s.inFlight))
	for _, f := range s.inFlight {
		out = append(out, f.msg)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].QueuedAt.Equal(out[j].QueuedAt) {
			return out[i].QueuedAt.After(out[j].QueuedAt)
		}
		if out[i].Partition != out[j].Partition {
			return out[i].Partition < out[j].Partition
		}
		return out[i].Offset > out[j].Offset
	})
	return out
}

// topElements selects the n most clicked elements, ties broken by id so
// the order is stable between snapshots.
func topElements(clicks map[string]int64, n int) []ElementCount {
	top := make([]ElementCount, 0, n+1)
	less := func(a, b ElementCount) bool {
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.ElementID < b.ElementID
	}
	for id, c := range clicks {
		if c <= 0 {
			continue
		}
		e := ElementCount{ElementID: id, Count: c}
		if len(top) == n && !less(e, top[n-1]) {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return less(e, top[i]) })
		top = append(top, ElementCount{})
		copy(top[i+1:], top[i:])
		top[i] = e
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

// seenSet remembers the last cap ids added, in O(1) per add. It holds
// 64-bit hashes of the ids rather than the ids: its map and ring then
// hold no pointers, so the collector does not scan them every cycle, and
// they keep no ids alive. A new id matches a held hash with odds of about
// 2^-48, which would leave one event uncounted.
type seenSet struct {
	seed    maphash.Seed
	ids     map[uint64]struct{}
	ring    []uint64
	next, n int
}

func newSeenSet(capacity int) seenSet {
	return seenSet{seed: maphash.MakeSeed(), ids: make(map[uint64]struct{}, capacity), ring: make([]uint64, capacity)}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	h := maphash.String(s.seed, id)
	if _, ok := s.ids[h]; ok {
		return false
	}
	if s.n == len(s.ring) {
		delete(s.ids, s.ring[s.next])
	} else {
		s.n++
	}
	s.ring[s.next] = h
	s.next = (s.next + 1) % len(s.ring)
	s.ids[h] = struct{}{}
	return true
}

func (s *seenSet) has(id string) bool {
	_, ok := s.ids[maphash.String(s.seed, id)]
	return ok
}
