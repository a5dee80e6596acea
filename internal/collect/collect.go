// Package collect turns the batches a source's clients send to
// POST /api/collect (docs/tracker.md) into Kafka records: each event
// checked on its own (a bad one is refused with its reason, the others
// kept), stamped with its source, its time corrected for the client's
// clock, and what the ledger must count carried in its headers. It
// counts what it received and refused for the delivery ledger and
// writes those counts to the store once a second.
package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
)

// Limits of one request.
const (
	MaxBody   = 64 << 10
	MaxEvents = 100
	// MaxDropped bounds the dropped count a client may report at once.
	MaxDropped = 1 << 32
)

// SkewThreshold is how far a client's clock may be off before the
// collector corrects its events' times: below it, the difference is as
// likely the request's time on the network.
const SkewThreshold = 2 * time.Second

// Batch is one request's body, decoded but for its events.
type Batch struct {
	// SentAt is the client's clock when the request left; zero when the
	// client did not say.
	SentAt time.Time
	// Dropped is the count of events the client discarded since its last
	// delivered batch.
	Dropped int64
	Events  []jsontext.Value
	// ClientIP is the address of the client that sent the batch, as the
	// API found it through its trusted proxies. It is stored only when
	// the source asks for it (store.SourceSettings.StoreIP).
	ClientIP string
}

// Rejection is one refused event.
type Rejection struct {
	Index int    `json:"index"`
	Field string `json:"field"`
	Error string `json:"error"`
}

// Result is the answer to a batch.
type Result struct {
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
}

// Producer builds and sends the records.
type Producer interface {
	// Record validates an event and builds its record.
	Record(e *event.Event, src event.Source, requestID string) (*kgo.Record, error)
	// ProduceRecords sends records and waits for every acknowledgement.
	ProduceRecords(ctx context.Context, recs []*kgo.Record) error
}

// Sink keeps the collector's ledger counts and tracking-plan warnings.
type Sink interface {
	AddLedger(ctx context.Context, points []ledger.Point) error
	AddPlanWarnings(ctx context.Context, ws []store.PlanWarning) error
}

// Collector is the collector's work apart from HTTP.
type Collector struct {
	producer Producer
	sink     Sink
	plans    Plans
	log      *slog.Logger
	metrics  *collectMetrics

	mu       sync.Mutex
	pending  map[ledger.Key]ledger.Counts
	warnings map[warnKey]store.PlanWarning
}

// New returns a collector; Run writes its ledger counts and warnings.
// plans holds the sources' events to the tracking plan; nil when there is
// none, and a source whose plan mode is on is then unavailable.
func New(p Producer, sink Sink, plans Plans, log *slog.Logger, reg prometheus.Registerer) *Collector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Collector{
		producer: p, sink: sink, plans: plans, log: log.With("component", "collect"),
		metrics: newMetrics(reg), pending: make(map[ledger.Key]ledger.Counts),
		warnings: make(map[warnKey]store.PlanWarning),
	}
}

// ErrUnavailable wraps a failure to hand the events to Kafka: the client
// should send the batch again (every event keeps its event_id, so the
// copies are dropped).
var ErrUnavailable = errors.New("kafka unavailable")

// Collect checks every event of b, sends the good ones of source src to
// Kafka and waits for the acknowledgement. Only an ErrUnavailable error
// is returned; a refused event is in the result.
func (c *Collector) Collect(ctx context.Context, src store.Source, b Batch, now time.Time, requestID string) (Result, error) {
	res := Result{Rejected: []Rejection{}}
	var held *plan.Plan
	if mode, _ := plan.CheckMode(src.Settings.Plan); mode != plan.ModeOff {
		p, err := c.currentPlan()
		if err != nil {
			c.metrics.unavailable.Inc()
			return Result{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		held = p
	}
	var warnings []store.PlanWarning
	skew := time.Duration(0)
	if !b.SentAt.IsZero() {
		if d := now.Sub(b.SentAt); d > SkewThreshold || d < -SkewThreshold {
			skew = d
		}
	}
	recs := make([]*kgo.Record, 0, len(b.Events))
	seen := make(map[string]int, len(b.Events))
	for i, raw := range b.Events {
		rec, e, err := c.record(src, raw, now, skew, requestID, b.ClientIP)
		if err == nil && held != nil {
			if p := held.Check(e.EventType, e.Properties); p != nil {
				strict := src.Settings.Plan == plan.ModeStrict
				warnings = planWarning(warnings, src, e.EventType, p, raw, strict, now)
				if strict {
					err = &event.Error{Field: p.Field, Reason: p.Reason}
				}
			}
		}
		id := e.EventID
		if err == nil {
			// One id twice in a batch would store one event and answer
			// for two.
			if j, dup := seen[id]; dup {
				err = &event.Error{Field: "event_id", Reason: fmt.Sprintf("repeats the event_id of events[%d]", j)}
			} else {
				seen[id] = i
			}
		}
		if err != nil {
			res.Rejected = append(res.Rejected, rejection(i, err))
			continue
		}
		recs = append(recs, rec)
	}
	dropped := min(max(b.Dropped, 0), MaxDropped)
	if len(recs) > 0 && dropped > 0 {
		// The first event carries the client's report, so that the store
		// counts it once, with the event, whatever the retries.
		recs[0].Headers = append(recs[0].Headers, record.DeliveryHeaders(ledger.Delivery{ClientDropped: dropped})...)
		dropped = 0
	}
	if len(recs) > 0 {
		if err := c.producer.ProduceRecords(ctx, recs); err != nil {
			c.metrics.unavailable.Inc()
			return Result{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	res.Accepted = len(recs)
	c.commitWarnings(warnings)
	c.count(src.ID, now, ledger.Counts{
		Received: int64(len(recs)), Rejected: int64(len(res.Rejected)), DroppedClient: dropped,
	})
	return res, nil
}

// DropDNT counts the events of a request dropped because the browser
// asked not to be tracked.
func (c *Collector) DropDNT(src store.Source, events int, now time.Time) {
	c.count(src.ID, now, ledger.Counts{DNTDropped: int64(events)})
}

func (c *Collector) currentPlan() (*plan.Plan, error) {
	if c.plans == nil {
		return nil, plan.ErrNotLoaded
	}
	return c.plans.Current()
}

func rejection(i int, err error) Rejection {
	var ve *event.Error
	if errors.As(err, &ve) {
		field := "events[" + strconv.Itoa(i) + "]"
		if ve.Field != "" {
			field += "." + ve.Field
		}
		return Rejection{Index: i, Field: field, Error: ve.Reason}
	}
	return Rejection{Index: i, Field: "events[" + strconv.Itoa(i) + "]", Error: err.Error()}
}
