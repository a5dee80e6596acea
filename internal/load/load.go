// Package load runs generated load for the operator console: one run at
// a time of events sent at a steady rate for a while.
package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/background"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/metrics"
)

// Load run limits.
const (
	MaxRate     = 50000
	MaxDuration = 3600
)

// Load run states.
const (
	Running   = "running"
	Completed = "completed"
	Stopped   = "stopped"
	Failed    = "failed"
)

// Errors of load runs.
var (
	// ErrRunning refuses a second run while one runs.
	ErrRunning = errors.New("a load run is running already")
	// ErrNoRun is returned by Stop when no run was ever started.
	ErrNoRun = errors.New("no load run")
)

// KeptRuns is how many runs the runner remembers (in memory: they do not
// survive a restart).
const KeptRuns = 20

// Request starts a load run.
type Request struct {
	EventsPerSecond float64 `json:"events_per_second"`
	DurationSeconds float64 `json:"duration_seconds"`
	FailureRate     float64 `json:"failure_rate"`
	DelayRate       float64 `json:"delay_rate"`
	// Mix weighs event types ({"page_view": 40, ...}); the generator's
	// own mix when empty.
	Mix map[string]float64 `json:"mix"`
}

// Run is the state of a load run.
type Run struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	// EndsAt is when the run is planned to end: StartedAt plus its
	// duration.
	EndsAt time.Time `json:"ends_at"`
	// EndedAt is when the run ended (completed, failed, or the moment it
	// was stopped); absent while it runs.
	EndedAt         time.Time          `json:"ended_at,omitzero"`
	EventsPerSecond float64            `json:"events_per_second"`
	DurationSeconds float64            `json:"duration_seconds"`
	FailureRate     float64            `json:"failure_rate"`
	DelayRate       float64            `json:"delay_rate"`
	Mix             map[string]float64 `json:"mix"`
	// Target is how many events the run sends in all.
	Target int64 `json:"target"`
	Sent   int64 `json:"sent"`
	Acked  int64 `json:"acked"`
	Failed int64 `json:"failed"`
	// Progress is Sent/Target, 0..1.
	Progress float64 `json:"progress"`
	// CurrentRate is acknowledged events per second over the last second.
	CurrentRate float64 `json:"current_rate"`
	// Error is the first send that failed; sends cancelled by a stop are
	// not failures and leave no error.
	Error string `json:"error,omitempty"`
}

// Runner sends generated events at a steady rate for a while, one
// run at a time. Create it with New and run it with Run, which
// owns the runs.
type Runner struct {
	producer *kafka.Producer
	log      *slog.Logger
	bg       *background.Work

	loadSent prometheus.Counter

	mu   sync.Mutex
	run  *loadRun   // the current or last run
	past []*loadRun // the last KeptRuns runs, oldest first, the current one included
}

// New returns a load runner sending through producer.
func New(producer *kafka.Producer, log *slog.Logger, reg prometheus.Registerer) (*Runner, error) {
	if producer == nil {
		return nil, errors.New("new load runner: a Kafka producer is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Runner{
		producer: producer, log: log.With("component", "load"), bg: background.New(),
		loadSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_load_events_sent_total", Help: "Events sent by load runs.",
		}),
	}
	_ = metrics.Register(reg, &l.loadSent)
	return l, nil
}

// Run waits for ctx to end, then stops the current run and waits for it.
// Requests may start a run before Run; Run must be called once
// New succeeded.
func (l *Runner) Run(ctx context.Context) error {
	<-ctx.Done()
	l.bg.Stop()
	return nil
}

type loadRun struct {
	info   Run // immutable fields
	cancel context.CancelFunc
	done   chan struct{}

	sent, acked, failed atomic.Int64
	// cancelled counts sends that a stop cancelled: neither acked nor
	// failed.
	cancelled atomic.Int64
	stopping  atomic.Bool
	firstErr  atomic.Pointer[string]

	mu      sync.Mutex
	status  string
	err     string
	endedAt time.Time
	samples []countAt // acked counts, for current_rate
}

// ack counts the outcome of one send. After a stop, a send that failed
// because it was cancelled or the producer closed is the stop's doing,
// not a failure.
func (r *loadRun) ack(err error) {
	switch {
	case err == nil:
		r.acked.Add(1)
	case r.stopping.Load() && (errors.Is(err, context.Canceled) || errors.Is(err, kafka.ErrProducerClosed) ||
		errors.Is(err, kgo.ErrClientClosed)):
		r.cancelled.Add(1)
	default:
		r.failed.Add(1)
		msg := err.Error()
		r.firstErr.CompareAndSwap(nil, &msg)
	}
}

// stop marks the run stopped at now, if it runs.
func (r *loadRun) stop(now time.Time) {
	r.stopping.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == Running {
		r.status = Stopped
		r.endedAt = now
	}
}

func (r *loadRun) snapshot(now time.Time) Run {
	out := r.info
	out.Mix = maps.Clone(r.info.Mix)
	out.Sent, out.Acked, out.Failed = r.sent.Load(), r.acked.Load(), r.failed.Load()
	if out.Target > 0 {
		out.Progress = min(1, float64(out.Sent)/float64(out.Target))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out.Status, out.Error, out.EndedAt = r.status, r.err, r.endedAt
	if out.Status == Running {
		out.CurrentRate = rateOver(r.samples, now, out.Acked)
	}
	return out
}

// rateOver is the growth per second from the newest sample at least a
// second old (or the oldest one) to n now.
func rateOver(samples []countAt, now time.Time, n int64) float64 {
	if len(samples) == 0 {
		return 0
	}
	base := samples[0]
	for _, s := range samples {
		if now.Sub(s.t) >= time.Second {
			base = s
		}
	}
	el := now.Sub(base.t).Seconds()
	if el <= 0 {
		return 0
	}
	return float64(n-base.n) / el
}

func (r *loadRun) sample(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.samples); n > 0 && now.Sub(r.samples[n-1].t) < 100*time.Millisecond {
		return
	}
	r.samples = append(r.samples, countAt{now, r.acked.Load()})
	i := 0
	for i+1 < len(r.samples) && now.Sub(r.samples[i+1].t) >= time.Second {
		i++
	}
	r.samples = append(r.samples[:0], r.samples[i:]...)
}

// Start validates req and starts a load run in the background.
// ErrRunning when one runs already; a *RequestError when req is out
// of range.
func (l *Runner) Start(req Request) (Run, error) {
	if err := validateLoad(req); err != nil {
		return Run{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.run; r != nil {
		select {
		case <-r.done:
		default:
			return r.snapshot(time.Now()), ErrRunning
		}
	}
	now := time.Now().UTC()
	r := &loadRun{
		info: Run{
			ID: uuid.NewString(), StartedAt: now,
			EndsAt:          now.Add(time.Duration(req.DurationSeconds * float64(time.Second))),
			EventsPerSecond: req.EventsPerSecond, DurationSeconds: req.DurationSeconds,
			FailureRate: req.FailureRate, DelayRate: req.DelayRate, Mix: maps.Clone(req.Mix),
			Target: int64(math.Round(req.EventsPerSecond * req.DurationSeconds)),
		},
		done:   make(chan struct{}),
		status: Running,
	}
	if r.info.Mix == nil {
		r.info.Mix = map[string]float64{}
	}
	r.info.Target = max(1, r.info.Target)
	// The run's goroutine waits for its cancel function to be known, so
	// that a stop right after the start finds it.
	ready := make(chan struct{})
	cancel, started := l.bg.Go(func(ctx context.Context) {
		defer close(r.done)
		<-ready
		l.runLoad(ctx, r)
	})
	if !started {
		return Run{}, errors.New("start load run: the load runner has stopped")
	}
	r.cancel = cancel
	close(ready)
	l.remember(r)
	l.log.Info("load run started", "run_id", r.info.ID, "events_per_second", req.EventsPerSecond,
		"duration_seconds", req.DurationSeconds, "target", r.info.Target)
	return r.snapshot(time.Now()), nil
}

// remember makes r the current run and keeps it among the last ones;
// the caller holds l.mu.
func (l *Runner) remember(r *loadRun) {
	l.run = r
	l.past = append(l.past, r)
	if n := len(l.past); n > KeptRuns {
		l.past = slices.Delete(l.past, 0, n-KeptRuns)
	}
}

// Current returns the current or last run; false when there was none.
func (l *Runner) Current() (Run, bool) {
	l.mu.Lock()
	r := l.run
	l.mu.Unlock()
	if r == nil {
		return Run{}, false
	}
	return r.snapshot(time.Now()), true
}

// Runs returns the last KeptRuns runs, newest first, the current one
// included.
func (l *Runner) Runs() []Run {
	l.mu.Lock()
	past := slices.Clone(l.past)
	l.mu.Unlock()
	now := time.Now()
	out := make([]Run, 0, len(past))
	for i := len(past) - 1; i >= 0; i-- {
		out = append(out, past[i].snapshot(now))
	}
	return out
}

// Stop stops the current run and waits for it to end; it returns the
// last run unchanged when none is running, ErrNoRun when there was
// none.
func (l *Runner) Stop(ctx context.Context) (Run, error) {
	l.mu.Lock()
	r := l.run
	l.mu.Unlock()
	if r == nil {
		return Run{}, ErrNoRun
	}
	r.stop(time.Now().UTC())
	if r.cancel != nil {
		r.cancel()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return Run{}, fmt.Errorf("stop load run: %w", ctx.Err())
	}
	return r.snapshot(time.Now()), nil
}

func validateLoad(req Request) error {
	bad := func(f float64, lo, hi float64) bool { return math.IsNaN(f) || f < lo || f > hi }
	switch {
	case bad(req.EventsPerSecond, 1, MaxRate):
		return invalidf("events_per_second must be between 1 and %d", MaxRate)
	case bad(req.DurationSeconds, 1, MaxDuration):
		return invalidf("duration_seconds must be between 1 and %d", MaxDuration)
	case bad(req.FailureRate, 0, 1):
		return invalidf("failure_rate must be between 0 and 1")
	case bad(req.DelayRate, 0, 1):
		return invalidf("delay_rate must be between 0 and 1")
	}
	var sum float64
	for typ, w := range req.Mix {
		if !event.TypePattern.MatchString(typ) {
			return invalidf("mix: event type %q must match %s", typ, event.TypePattern)
		}
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return invalidf("mix: weight of %s must be a number not below 0", typ)
		}
		sum += w
	}
	if len(req.Mix) > 0 && sum <= 0 {
		return invalidf("mix: weights must not all be 0")
	}
	return nil
}

// runLoad sends the run's events at its rate until the target is sent
// or ctx ends, then waits for the outstanding acknowledgements.
func (l *Runner) runLoad(ctx context.Context, r *loadRun) {
	in := r.info
	gen := generator.New(generator.Config{FailureRate: in.FailureRate, DelayRate: in.DelayRate})
	pick := newMixPicker(in.Mix)
	reqID := "load-" + in.ID
	onAck := func(_ kafka.Ack, err error) { r.ack(err) }
	// A stop ends the sending, not what was already handed to the
	// producer: cancelling those records would count a stopped run's
	// events as failures (and a run stopped at once as failed).
	produceCtx := context.WithoutCancel(ctx)
	p := NewPacer(in.EventsPerSecond, 50*time.Millisecond)
	deadline := in.EndsAt.Add(5 * time.Second)
	for sent := int64(0); sent < in.Target && ctx.Err() == nil; {
		n, err := p.Take(ctx, int(in.Target-sent))
		if err != nil {
			break
		}
		for range n {
			e := pick.next(gen)
			r.sent.Add(1)
			l.loadSent.Inc()
			l.producer.ProduceAsync(produceCtx, &e, event.SourceProducer, reqID, onAck)
		}
		sent += int64(n)
		r.sample(time.Now())
		if time.Now().After(deadline) {
			// The producer could not keep the pace; the run ends on time
			// with what it sent.
			break
		}
	}
	// Wait for the acknowledgements of what was sent, not for ever.
	wait := time.NewTicker(20 * time.Millisecond)
	defer wait.Stop()
	giveUp := time.Now().Add(15 * time.Second)
	if ctx.Err() != nil {
		// Stopped or shutting down: the client fails what it cannot send
		// soon; do not hold the stop up.
		giveUp = time.Now().Add(2 * time.Second)
		// A shutdown stops the run as the operator's stop does.
		r.stop(time.Now().UTC())
	}
	for r.acked.Load()+r.failed.Load()+r.cancelled.Load() < r.sent.Load() && time.Now().Before(giveUp) {
		r.sample(time.Now())
		<-wait.C
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == Running {
		r.status = Completed
		if ctx.Err() != nil {
			r.status = Stopped
		}
	}
	if r.endedAt.IsZero() {
		r.endedAt = time.Now().UTC()
	}
	if e := r.firstErr.Load(); e != nil {
		r.err = *e
		if r.acked.Load() == 0 && r.status != Stopped {
			r.status = Failed
		}
	}
	l.log.Info("load run ended", "run_id", in.ID, "status", r.status,
		"sent", r.sent.Load(), "acked", r.acked.Load(), "failed", r.failed.Load())
}

// mixPicker draws event types by weight. Types the generator makes are
// drawn from it until one of the wanted type comes, so that the event is
// coherent (a form_submit on a page with a form); other types rename a
// generated event.
type mixPicker struct {
	types []string
	cum   []float64
	rng   *rand.Rand
}

// generated are the event types the generator makes.
var generated = map[string]bool{
	event.TypePageView: true, event.TypeButtonClick: true, event.TypeFormSubmit: true,
	event.TypeUserLogin: true, event.TypeAPICall: true,
}

func newMixPicker(mix map[string]float64) *mixPicker {
	m := &mixPicker{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	var sum float64
	for _, t := range slices.Sorted(maps.Keys(mix)) {
		if mix[t] <= 0 {
			continue
		}
		sum += mix[t]
		m.types = append(m.types, t)
		m.cum = append(m.cum, sum)
	}
	return m
}

func (m *mixPicker) next(g *generator.Generator) event.Event {
	if len(m.types) == 0 {
		return g.Next()
	}
	x := m.rng.Float64() * m.cum[len(m.cum)-1]
	i, _ := slices.BinarySearch(m.cum, x)
	want := m.types[min(i, len(m.types)-1)]
	e := g.Next()
	if generated[want] {
		// The rarest seed type is 5% of the generator's output: 200
		// draws miss it with a negligible chance.
		for range 200 {
			if e.EventType == want {
				return e
			}
			e = g.Next()
		}
	}
	e.EventType = want
	return e
}

// RequestError is a request the console cannot act on; its text is safe
// to show the client.
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// countAt is a running count at a time.
type countAt struct {
	t time.Time
	n int64
}
