// Package deadletter is the operator console's dead-letter service: it
// lists the dead letters of the DLQ topic grouped by kind of error and
// replays them to the main topic, small selections before the request
// returns and big ones in the background.
package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/time/rate"

	"github.com/pulse-dev/pulse/internal/background"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/metrics"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
)

// Limits of dead-letter listings and replays.
const (
	DefaultReplayRate = 100
	MaxReplayRate     = 1000
	// DefaultLimit and MaxLimit bound how many dead letters one
	// listing reads.
	DefaultLimit = 1000
	MaxLimit     = 10000
	// SyncReplayMax is the largest selection replayed before the request
	// returns; bigger ones continue in the background.
	SyncReplayMax = 200
)

// Config configures the dead-letter service. Topic and DLQTopic
// are required.
type Config struct {
	Topic    string
	DLQTopic string
	// ClientOpts reach the cluster (seed brokers, SASL, TLS); dead letters
	// are read with short-lived clients built from them.
	ClientOpts []kgo.Opt
	// Replays remembers the dead letters replayed (the store), so that
	// they are marked and skipped by group replays across restarts and
	// servers. Required.
	Replays store.Replays
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service lists the dead letters of the DLQ topic and replays them to
// the main topic. Create it with New and run it with Run, which
// owns the replays that continue in the background.
type Service struct {
	cfg      Config
	admin    *kafka.Admin
	producer *kafka.Producer
	log      *slog.Logger
	now      func() time.Time
	bg       *background.Work

	replayed prometheus.Counter
}

// New returns the dead-letter service; admin and producer are
// required.
func New(cfg Config, admin *kafka.Admin, producer *kafka.Producer, log *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if cfg.Topic == "" || cfg.DLQTopic == "" {
		return nil, errors.New("new dead-letter service: topic and DLQ topic are required")
	}
	if cfg.Replays == nil {
		return nil, errors.New("new dead-letter service: a replay log is required")
	}
	if admin == nil || producer == nil {
		return nil, errors.New("new dead-letter service: a Kafka admin and producer are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, admin: admin, producer: producer,
		log: log.With("component", "deadletter"), now: cfg.Now, bg: background.New(),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_dlq_replayed_total", Help: "Dead letters replayed to the main topic.",
		}),
	}
	_ = metrics.Register(reg, &s.replayed)
	return s, nil
}

// Run waits for ctx to end, then stops the background replays and waits
// for them. Requests may start replays before Run; Run must be called
// once New succeeded.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	s.bg.Stop()
	return nil
}

// maxPayload bounds the payload text of a listed dead letter.
const maxPayload = 16 << 10

// Record is one dead letter.
type Record struct {
	// ID is "<partition>:<offset>" in the DLQ topic.
	ID                string    `json:"id"`
	Partition         int32     `json:"partition"`
	Offset            int64     `json:"offset"`
	Timestamp         time.Time `json:"timestamp"`
	Key               string    `json:"key"`
	OriginalTopic     string    `json:"original_topic"`
	OriginalPartition int32     `json:"original_partition"`
	OriginalOffset    int64     `json:"original_offset"`
	Error             string    `json:"error"`
	// Kind is Error with its specifics removed, to group by.
	Kind       string    `json:"kind"`
	Attempts   int       `json:"attempts"`
	ConsumerID string    `json:"consumer_id"`
	FailedAt   time.Time `json:"failed_at"`
	// EventID is empty when the payload has none or is not JSON.
	EventID string `json:"event_id"`
	// Payload is the record value as text, cut to 16 KiB.
	Payload string `json:"payload"`
	// Replayed says the record was replayed already (by any server, any
	// time), and ReplayedAt when first.
	Replayed   bool       `json:"replayed"`
	ReplayedAt *time.Time `json:"replayed_at"`

	raw *kgo.Record
}

// Group is the dead letters of one kind, newest first.
type Group struct {
	Kind    string   `json:"kind"`
	Count   int      `json:"count"`
	Records []Record `json:"records"`
}

// View is the answer of GET /api/dlq/.
type View struct {
	// Total counts the dead letters in the DLQ topic: committed ones,
	// transaction markers left out, exactly while each partition holds
	// at most max(2 x limit, 2,000) offsets, estimated from the newest
	// ones beyond; the groups hold the newest limit of them.
	Total  int64   `json:"total"`
	Groups []Group `json:"groups"`
}

// List lists the newest limit dead letters across the DLQ topic's
// partitions, grouped by kind, the largest group first.
func (s *Service) List(ctx context.Context, limit int) (View, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		return View{}, invalidf("limit must be between 1 and %d", MaxLimit)
	}
	recs, total, err := s.newestDLQ(ctx, limit)
	if err != nil {
		return View{}, err
	}
	v := View{Total: total, Groups: []Group{}}
	idx := make(map[string]int)
	for _, r := range recs {
		i, ok := idx[r.Kind]
		if !ok {
			i = len(v.Groups)
			idx[r.Kind] = i
			v.Groups = append(v.Groups, Group{Kind: r.Kind, Records: []Record{}})
		}
		v.Groups[i].Count++
		v.Groups[i].Records = append(v.Groups[i].Records, r)
	}
	sort.SliceStable(v.Groups, func(i, j int) bool {
		if v.Groups[i].Count != v.Groups[j].Count {
			return v.Groups[i].Count > v.Groups[j].Count
		}
		return v.Groups[i].Kind < v.Groups[j].Kind
	})
	return v, nil
}

// newestDLQ reads the newest limit dead letters, newest first, and
// counts the records of the DLQ topic.
func (s *Service) newestDLQ(ctx context.Context, limit int) ([]Record, int64, error) {
	readable, total, err := s.readable(ctx)
	if err != nil {
		return nil, 0, err
	}
	// Each DLQ transaction of the pipeline leaves a marker, never more
	// than one per dead letter, so twice limit offsets hold the newest
	// limit dead letters; reading at least 2,000 makes the total exact
	// for small DLQs (see below).
	window := int64(max(2*limit, 2*DefaultLimit))
	ranges := make(map[int32][2]int64, len(readable))
	for p, r := range readable {
		ranges[p] = [2]int64{max(r[0], r[1]-window), r[1]}
	}
	recs, err := s.readDLQ(ctx, ranges)
	if err != nil {
		return nil, 0, err
	}
	// Offsets are not records: the pipeline's DLQ transactions leave a
	// marker each, and aborted dead letters are not dead letters. The
	// offsets read that hold neither are taken off the total, which is
	// exact where the read covered a whole partition.
	for _, r := range ranges {
		total -= r[1] - r[0]
	}
	total += int64(len(recs))
	sort.Slice(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.After(b.Timestamp)
		}
		if a.Partition != b.Partition {
			return a.Partition > b.Partition
		}
		return a.Offset > b.Offset
	})
	if len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, total, nil
}

// readable returns the offsets of each DLQ partition that hold decided
// records, [log start, last stable offset), partitions without any left
// out, and how many offsets that is in all. A transaction still open (a
// member dead-lettering right now) is not dead letters yet, and a
// read-committed read of its offsets would wait until it ends.
func (s *Service) readable(ctx context.Context) (map[int32][2]int64, int64, error) {
	desc, err := s.admin.DescribeTopic(ctx, s.cfg.DLQTopic, "")
	if err != nil {
		return nil, 0, fmt.Errorf("describe DLQ topic: %w", err)
	}
	stable, err := s.admin.StableOffsets(ctx, s.cfg.DLQTopic)
	if err != nil {
		return nil, 0, err
	}
	out := make(map[int32][2]int64)
	var n int64
	for _, p := range desc.Partitions {
		end := p.EndOffset
		if lso, ok := stable[p.Partition]; ok && lso >= 0 {
			end = min(end, lso)
		}
		if end > p.StartOffset {
			out[p.Partition] = [2]int64{p.StartOffset, end}
			n += end - p.StartOffset
		}
	}
	return out, n, nil
}

// readDLQ reads the DLQ records in [from, until) of each partition, with
// a client that lives for this call only (no consumer group).
func (s *Service) readDLQ(ctx context.Context, ranges map[int32][2]int64) ([]Record, error) {
	if len(ranges) == 0 {
		return nil, nil
	}
	offsets := make(map[int32]kgo.Offset, len(ranges))
	for p, r := range ranges {
		offsets[p] = kgo.NewOffset().At(r[0])
	}
	opts := append(slices.Clone(s.cfg.ClientOpts),
		kgo.ClientID("pulse-ops-dlq"),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.cfg.DLQTopic: offsets}),
		kgo.FetchMaxWait(250*time.Millisecond),
		// Dead letters become visible when the pipeline's transaction
		// commits them; those of aborted transactions are not dead
		// letters. Markers come through only to show how far the read
		// got, since a range may end in one.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("new DLQ reader: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	done := make(map[int32]bool, len(ranges))
	next := make(map[int32]int64, len(ranges))
	for p, r := range ranges {
		next[p] = r[0]
	}
	var out []Record
	for len(done) < len(ranges) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read DLQ topic %s: %w", s.cfg.DLQTopic, ctx.Err())
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, fmt.Errorf("read DLQ topic %s: %w", s.cfg.DLQTopic, ferr)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			r, ok := ranges[p.Partition]
			if !ok {
				return
			}
			for _, kr := range p.Records {
				if kr.Offset >= r[1] {
					// Past the range: all of it was read, though the
					// read-committed fetch left its last offsets out
					// (an aborted transaction's records).
					next[p.Partition] = max(next[p.Partition], r[1])
					break
				}
				next[p.Partition] = kr.Offset + 1
				if kr.Attrs.IsControl() {
					continue
				}
				out = append(out, parseDLQ(kr))
			}
			// The high watermark may have moved past the range; reading
			// up to the range's end is enough. A transaction still open
			// holds committed reads at the last stable offset: what is
			// beyond it is not (yet) a dead letter.
			end := r[1]
			if p.LastStableOffset >= 0 {
				end = min(end, p.LastStableOffset)
			}
			if next[p.Partition] >= end || p.HighWatermark <= r[0] {
				done[p.Partition] = true
			}
		})
	}
	if err := s.markReplayed(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// markReplayed sets Replayed on the records the replay log knows.
func (s *Service) markReplayed(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	at, err := s.cfg.Replays.Replayed(ctx, s.cfg.DLQTopic, ids)
	if err != nil {
		return fmt.Errorf("read the replay log: %w", err)
	}
	for i := range recs {
		if t, ok := at[recs[i].ID]; ok {
			recs[i].Replayed, recs[i].ReplayedAt = true, &t
		}
	}
	return nil
}

// parseDLQ reads a dead letter's headers and payload.
func parseDLQ(kr *kgo.Record) Record {
	dl := record.ParseDeadLetter(kr)
	d := Record{
		ID:        fmt.Sprintf("%d:%d", kr.Partition, kr.Offset),
		Partition: kr.Partition, Offset: kr.Offset,
		Timestamp: kr.Timestamp.UTC(), Key: textOf(kr.Key, 1024),
		OriginalTopic: dl.Topic, OriginalPartition: dl.Partition, OriginalOffset: dl.Offset,
		Error: textOf([]byte(dl.Error), 4096), Attempts: dl.Attempts, ConsumerID: textOf([]byte(dl.ConsumerID), 256),
		FailedAt: dl.FailedAt,
		raw:      kr,
	}
	d.Kind = Kind(d.Error)
	d.Payload = textOf(kr.Value, maxPayload)
	var p struct {
		EventID string `json:"event_id"`
	}
	if json.Unmarshal(kr.Value, &p) == nil {
		d.EventID = p.EventID
	}
	return d
}

// textOf is b as valid UTF-8, cut to at most n bytes on a rune boundary.
func textOf(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

var (
	numbers    = regexp.MustCompile(`\d+(\.\d+)?`)
	codePoints = regexp.MustCompile(`U\+[0-9A-F]+`)
	quoted     = regexp.MustCompile(`"[^"]*"|'[^']*'`)
)

// Kind is a dead letter's error with its specifics (offsets, sizes,
// quoted values) removed, so that alike errors group together:
// "simulated failure", "invalid JSON", "user_id: is required".
func Kind(reason string) string {
	switch {
	case reason == "":
		return "unknown"
	case strings.HasPrefix(reason, "simulated failure"):
		return "simulated failure"
	case strings.HasPrefix(reason, "invalid JSON"):
		return "invalid JSON"
	}
	k := codePoints.ReplaceAllString(reason, "U+…")
	k = quoted.ReplaceAllString(k, "…")
	return numbers.ReplaceAllString(k, "N")
}

// ReplayRequest selects dead letters to send back to the main topic:
// by IDs, by Kind, or All; DryRun only says what would be replayed.
type ReplayRequest struct {
	IDs    []string `json:"ids"`
	Kind   string   `json:"kind"`
	All    bool     `json:"all"`
	DryRun bool     `json:"dry_run"`
	// Rate is records per second (default 100, at most 1000).
	Rate float64 `json:"rate"`
	// StripSimulation (default true) drops should_fail and delay_seconds
	// from the payload so that the replay can succeed.
	StripSimulation *bool `json:"strip_simulation"`
	// IncludeReplayed replays, with Kind or All, the dead letters replayed
	// before too; without it they are skipped (and counted). Records named
	// by IDs are replayed whatever their past.
	IncludeReplayed bool `json:"include_replayed"`
}

// ReplayItem is one record of a replay.
type ReplayItem struct {
	ID             string `json:"id"`
	EventID        string `json:"event_id"`
	OriginalOffset int64  `json:"original_offset"`
}

// ReplayResult is the answer of POST /api/dlq/replay/. A selection of
// more than SyncReplayMax records is replayed in the background after the
// answer.
type ReplayResult struct {
	DryRun bool `json:"dry_run"`
	Count  int  `json:"count"`
	// SkippedReplayed counts the dead letters of the kind (or all) left
	// out because they were replayed before.
	SkippedReplayed int          `json:"skipped_replayed"`
	Records         []ReplayItem `json:"records"`
}

// Replay sends the selected dead letters back to the main topic with
// their key and event id, marked with the replay_of and replayed_at
// headers, at most req.Rate per second.
func (s *Service) Replay(ctx context.Context, req ReplayRequest) (ReplayResult, error) {
	perSecond := req.Rate
	switch {
	case perSecond == 0:
		perSecond = DefaultReplayRate
	case perSecond < 0 || perSecond > MaxReplayRate || perSecond != perSecond:
		return ReplayResult{}, invalidf("rate must be between 1 and %d records per second", MaxReplayRate)
	}
	strip := req.StripSimulation == nil || *req.StripSimulation
	sel, err := s.selectDLQ(ctx, req)
	if err != nil {
		return ReplayResult{}, err
	}
	skipped := 0
	if len(req.IDs) == 0 && !req.IncludeReplayed {
		kept := sel[:0]
		for _, d := range sel {
			if d.Replayed {
				skipped++
				continue
			}
			kept = append(kept, d)
		}
		sel = kept
	}
	if len(sel) == 0 {
		if skipped > 0 {
			return ReplayResult{}, invalidf("nothing selected: the %d matching dead letters were replayed already (include_replayed replays them again)", skipped)
		}
		return ReplayResult{}, invalidf("nothing selected: no dead letter matches")
	}
	// Oldest first, so that a key's replays keep their original order.
	sort.Slice(sel, func(i, j int) bool {
		if !sel[i].Timestamp.Equal(sel[j].Timestamp) {
			return sel[i].Timestamp.Before(sel[j].Timestamp)
		}
		if sel[i].Partition != sel[j].Partition {
			return sel[i].Partition < sel[j].Partition
		}
		return sel[i].Offset < sel[j].Offset
	})
	now := s.now()
	res := ReplayResult{DryRun: req.DryRun, Count: len(sel), SkippedReplayed: skipped, Records: make([]ReplayItem, 0, len(sel))}
	recs := make([]*kgo.Record, len(sel))
	for i, d := range sel {
		recs[i] = s.replayRecord(d, strip, now)
		res.Records = append(res.Records, ReplayItem{ID: d.ID, EventID: replayedEventID(recs[i]), OriginalOffset: d.OriginalOffset})
	}
	if req.DryRun {
		return res, nil
	}
	if len(sel) <= SyncReplayMax {
		if err := s.produceReplays(ctx, sel, recs, perSecond); err != nil {
			return ReplayResult{}, err
		}
		return res, nil
	}
	if _, ok := s.bg.Go(func(ctx context.Context) {
		if err := s.produceReplays(ctx, sel, recs, perSecond); err != nil {
			s.log.Warn("background replay stopped", "err", err)
		}
	}); !ok {
		return ReplayResult{}, errors.New("replay: the dead-letter service has stopped")
	}
	return res, nil
}

// selectDLQ resolves a replay request to dead letters.
func (s *Service) selectDLQ(ctx context.Context, req ReplayRequest) ([]Record, error) {
	switch {
	case len(req.IDs) > 0:
		if len(req.IDs) > MaxLimit {
			return nil, invalidf("at most %d ids per replay", MaxLimit)
		}
		want := make(map[string]bool, len(req.IDs))
		ranges := make(map[int32][2]int64)
		for _, id := range req.IDs {
			ps, os, ok := strings.Cut(id, ":")
			p, perr := strconv.ParseInt(ps, 10, 32)
			off, oerr := strconv.ParseInt(os, 10, 64)
			if !ok || perr != nil || oerr != nil || p < 0 || off < 0 {
				return nil, invalidf("id %q is not <partition>:<offset>", id)
			}
			want[id] = true
			r, seen := ranges[int32(p)]
			if !seen {
				r = [2]int64{off, off + 1}
			}
			ranges[int32(p)] = [2]int64{min(r[0], off), max(r[1], off+1)}
		}
		bounds, _, err := s.readable(ctx)
		if err != nil {
			return nil, err
		}
		for p, r := range ranges {
			b, ok := bounds[p]
			r = [2]int64{max(r[0], b[0]), min(r[1], b[1])}
			if !ok || r[0] >= r[1] {
				delete(ranges, p)
				continue
			}
			ranges[p] = r
		}
		recs, err := s.readDLQ(ctx, ranges)
		if err != nil {
			return nil, err
		}
		var out []Record
		for _, r := range recs {
			if want[r.ID] {
				out = append(out, r)
				delete(want, r.ID)
			}
		}
		if len(want) > 0 {
			missing := make([]string, 0, len(want))
			for id := range want {
				missing = append(missing, id)
			}
			slices.Sort(missing)
			return nil, invalidf("no dead letter %s", strings.Join(missing, ", "))
		}
		return out, nil
	case req.Kind != "" || req.All:
		recs, _, err := s.newestDLQ(ctx, MaxLimit)
		if err != nil {
			return nil, err
		}
		if req.All {
			return recs, nil
		}
		var out []Record
		for _, r := range recs {
			if r.Kind == req.Kind {
				out = append(out, r)
			}
		}
		return out, nil
	}
	return nil, invalidf("nothing selected: give ids, kind or all")
}

// replayRecord builds the main-topic record replaying d.
func (s *Service) replayRecord(d Record, strip bool, now time.Time) *kgo.Record {
	value := d.raw.Value
	// The original, without an event_id, was stored under an id derived
	// for it; the replay carries that id in a header (no payload may carry
	// a derived id), so that it replaces the dead-lettered row.
	var derivedID string
	var obj map[string]json.RawMessage
	if len(value) > 0 && bytes.TrimSpace(value)[0] == '{' && json.Unmarshal(value, &obj) == nil && obj != nil {
		changed := false
		if strip {
			for _, k := range []string{"should_fail", "delay_seconds"} {
				if _, ok := obj[k]; ok {
					delete(obj, k)
					changed = true
				}
			}
		}
		if eventIDOf(value) == "" {
			dl := record.ParseDeadLetter(d.raw)
			derivedID = dl.DerivedID()
		}
		if changed {
			if b, err := json.Marshal(obj); err == nil {
				value = b
			}
		}
	}
	return &kgo.Record{
		Topic: s.cfg.Topic, Key: slices.Clone(d.raw.Key), Value: value, Timestamp: now,
		Headers: record.ReplayHeaders(d.raw, s.cfg.DLQTopic, now, derivedID),
	}
}

// replayedEventID is the event_id a replay record will be stored under
// (unless its payload does not decode).
func replayedEventID(r *kgo.Record) string {
	if id := eventIDOf(r.Value); id != "" {
		return id
	}
	for _, h := range r.Headers {
		if h.Key == record.HeaderReplayEventID {
			return string(h.Value)
		}
	}
	return ""
}

func eventIDOf(value []byte) string {
	var p struct {
		EventID string `json:"event_id"`
	}
	if json.Unmarshal(value, &p) != nil {
		return ""
	}
	return p.EventID
}

// produceReplays sends recs at perSecond, remembering each replayed dead
// letter. A replay that fell behind (slow acknowledgements) catches up by
// at most 50 ms worth of records.
func (s *Service) produceReplays(ctx context.Context, sel []Record, recs []*kgo.Record, perSecond float64) error {
	lim := rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond/20)))
	for i, r := range recs {
		if err := lim.Wait(ctx); err != nil {
			return fmt.Errorf("replay %s: %w", sel[i].ID, err)
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.producer.ProduceRecord(pctx, r)
		cancel()
		if err != nil {
			return fmt.Errorf("replay %s: %w", sel[i].ID, err)
		}
		s.replayed.Inc()
		// Remembered once the broker has the replay: a replay lost before
		// that may be sent again by a group replay.
		if err := s.cfg.Replays.MarkReplayed(ctx, s.cfg.DLQTopic, []string{sel[i].ID}, s.now()); err != nil {
			s.log.Warn("remember a replay", "id", sel[i].ID, "err", err)
		}
	}
	s.log.Info("dead letters replayed", "count", len(recs), "topic", s.cfg.Topic)
	return nil
}

// RequestError is a request the console cannot act on; its text is safe
// to show the client.
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}
