package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/load"
)

const produceSummary = `Send generated user events to Kafka: the seed's producer.py and
producer_batch.py in one.

Modes:
  interval    (default) one event every --interval for --duration, or until
              Ctrl-C with --continuous (producer.py)
  batch       --batch-size events as fast as possible (producer_batch.py --mode batch)
  continuous  --events-per-second for --duration, paced; --duration 0 runs
              until Ctrl-C (producer_batch.py --mode continuous)

The events are journeys through a small shop (landing, products, cart,
signup, purchase, with drop-off; users with a plan, country and device):
see docs/insights.md. --history 14d first sends --history-events events
spread over the last 14 days, so that funnels, retention and trends have
days of data at once.

--dry-run prints the events as NDJSON on stdout instead of sending them.
Progress goes to stderr about once a second. Ctrl-C stops, flushes what is
buffered and prints the summary. The exit status is 1 if any event failed.`

// produceOpts are produce's own flags.
type produceOpts struct {
	mode        string
	duration    seconds
	interval    seconds
	continuous  bool
	batchSize   int
	rate        float64
	dryRun      bool
	failureRate float64
	delayRate   float64
	users       int
	seed        uint64
	// history and historyEvents: a backfill of past days, sent first.
	history       span
	historyEvents int
}

func runProduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlags("produce", produceSummary, &cfg, stderr)
	fs.Add(config.KafkaKeys()...)
	fs.Add(config.Topic, config.Compression)
	fs.Add(config.LogKeys()...)
	if err := fs.SetDefault(config.BootstrapServers, "127.0.0.1:9092"); err != nil {
		return err
	}
	o := produceOpts{duration: seconds(60 * time.Second), interval: seconds(2 * time.Second)}
	f := fs.Flags()
	f.StringVar(&o.mode, "mode", "interval", "interval, batch or continuous")
	f.Var(&o.duration, "duration", "how long to run, in seconds or as 1m30s (interval and continuous modes)")
	f.Var(&o.interval, "interval", "time between events in interval mode, in seconds or as 500ms")
	f.BoolVar(&o.continuous, "continuous", false, "run until Ctrl-C (interval and continuous modes)")
	f.IntVar(&o.batchSize, "batch-size", 100, "events to send in batch mode")
	f.Float64Var(&o.rate, "events-per-second", 50, "send rate in continuous mode")
	f.BoolVar(&o.dryRun, "dry-run", false, "print NDJSON on stdout instead of sending")
	f.Float64Var(&o.failureRate, "failure-rate", 0, "share of events (0..1) marked should_fail")
	f.Float64Var(&o.delayRate, "delay-rate", 0, "share of events (0..1) given a processing delay")
	f.IntVar(&o.users, "users", generator.DefaultUsers, "simulated users")
	f.Uint64Var(&o.seed, "seed", 0, "random seed for a repeatable run (0: random)")
	f.Var(&o.history, "history", "first send --history-events events spread over this much of the past, as 14d or 36h (0: none)")
	f.IntVar(&o.historyEvents, "history-events", 20_000, "events of the --history backfill")
	rest, err := fs.Parse(args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &exitError{2, fmt.Errorf("unexpected arguments %q", rest)}
	}
	if err := o.validate(); err != nil {
		return &exitError{2, err}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	gen := generator.New(generator.Config{Users: o.users, Seed: o.seed, FailureRate: o.failureRate, DelayRate: o.delayRate})
	var s sink
	if o.dryRun {
		s = newPrintSink(stdout)
	} else {
		log := newLogger(&cfg, stderr)
		p, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: cfg.Kafka, Name: "produce"}, log, nil)
		if err != nil {
			return err
		}
		// Fail fast with a hint rather than after the delivery timeout.
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = p.Ping(pingCtx)
		cancel()
		if err != nil {
			p.Close()
			return fmt.Errorf("cannot reach Kafka at %s (start one with `pulse broker` or `pulse serve`, or set --bootstrap-servers): %w", cfg.Kafka.BootstrapServers, err)
		}
		s = &kafkaSink{p: p, runID: "produce-" + uuid.NewString()[:8]}
	}

	prog := newProgress(stderr, s)
	prog.start()
	start := time.Now()
	if o.history > 0 {
		o.sendHistory(ctx, gen, s, start)
	}
	o.send(ctx, gen, s)
	prog.stop()
	closing := s.close()
	st := s.stats()
	elapsed := time.Since(start)
	rate := float64(st.Acked) / math.Max(elapsed.Seconds(), 1e-9)
	verb := "acknowledged"
	if o.dryRun {
		verb = "printed"
	}
	fmt.Fprintf(stderr, "summary: sent %d, %s %d, failed %d, elapsed %.1fs, rate %.1f events/s%s\n",
		st.Sent, verb, st.Acked, st.Failed, elapsed.Seconds(), rate, closing)
	if st.Failed > 0 {
		return fmt.Errorf("%d of %d events failed", st.Failed, st.Sent)
	}
	return nil
}

func (o *produceOpts) validate() error {
	switch o.mode {
	case "interval", "batch", "continuous":
	default:
		return fmt.Errorf("--mode must be interval, batch or continuous (got %q)", o.mode)
	}
	gc := generator.Config{Users: o.users, FailureRate: o.failureRate, DelayRate: o.delayRate}
	if err := gc.Validate(); err != nil {
		return fmt.Errorf("--users/--failure-rate/--delay-rate: %w", err)
	}
	switch {
	case o.batchSize < 1:
		return fmt.Errorf("--batch-size must be ≥ 1 (got %d)", o.batchSize)
	case o.rate <= 0 || math.IsInf(o.rate, 0) || math.IsNaN(o.rate):
		return fmt.Errorf("--events-per-second must be > 0 (got %v)", o.rate)
	case o.interval <= 0:
		return fmt.Errorf("--interval must be > 0")
	case o.duration < 0:
		return fmt.Errorf("--duration must not be negative")
	case o.history < 0 || time.Duration(o.history) > maxHistory:
		return fmt.Errorf("--history must be between 0 and %s (got %s)", maxHistory, time.Duration(o.history))
	case o.history > 0 && (o.historyEvents < 1 || o.historyEvents > maxHistoryEvents):
		return fmt.Errorf("--history-events must be between 1 and %d (got %d)", maxHistoryEvents, o.historyEvents)
	}
	return nil
}

// Bounds of the --history backfill.
const (
	maxHistory       = 365 * 24 * time.Hour
	maxHistoryEvents = 10_000_000
)

// sendHistory sends the backfill: --history-events events of the same
// users and journeys, their times spread evenly over the --history before
// now, oldest first.
func (o *produceOpts) sendHistory(ctx context.Context, gen *generator.Generator, s sink, now time.Time) {
	span := time.Duration(o.history)
	from := now.Add(-span)
	for i := range o.historyEvents {
		if ctx.Err() != nil {
			return
		}
		s.send(gen.At(from.Add(time.Duration(float64(span) * float64(i) / float64(o.historyEvents)))))
	}
}

// send runs the chosen mode until it is done or ctx ends.
func (o *produceOpts) send(ctx context.Context, gen *generator.Generator, s sink) {
	switch o.mode {
	case "batch":
		for range o.batchSize {
			if ctx.Err() != nil {
				return
			}
			s.send(gen.Next())
		}
	case "interval":
		o.sendEvery(ctx, gen, s)
	case "continuous":
		o.sendPaced(ctx, gen, s)
	}
}

// sendEvery sends one event right away and one per interval.
func (o *produceOpts) sendEvery(ctx context.Context, gen *generator.Generator, s sink) {
	var deadline <-chan time.Time
	if !o.continuous && o.duration > 0 {
		t := time.NewTimer(time.Duration(o.duration))
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(time.Duration(o.interval))
	defer tick.Stop()
	s.send(gen.Next())
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-tick.C:
			s.send(gen.Next())
		}
	}
}

// sendPaced holds the rate with the load runner's pacer: small bursts
// (5 ms worth) keep 10,000+ events/s accurate where one timer per event
// could not.
func (o *produceOpts) sendPaced(ctx context.Context, gen *generator.Generator, s sink) {
	total := int64(-1) // until interrupted
	if !o.continuous && o.duration > 0 {
		total = int64(math.Round(o.rate * time.Duration(o.duration).Seconds()))
	}
	p := load.NewPacer(o.rate, 5*time.Millisecond)
	for sent := int64(0); total < 0 || sent < total; {
		want := p.Burst()
		if total >= 0 {
			want = int(min(int64(want), total-sent))
		}
		n, err := p.Take(ctx, want)
		if err != nil {
			return
		}
		for range n {
			s.send(gen.Next())
		}
		sent += int64(n)
	}
}

// sink is where produce puts events: Kafka, or stdout for --dry-run.
type sink interface {
	send(e event.Event)
	stats() kafka.ProducerStats
	// close flushes and returns a note for the summary line.
	close() string
}

type kafkaSink struct {
	p     *kafka.Producer
	runID string
	// firstErr keeps the first delivery error for the summary.
	mu       sync.Mutex
	firstErr error
}

func (k *kafkaSink) send(e event.Event) {
	// Sends are not cancelled by Ctrl-C: what was generated is flushed.
	k.p.ProduceAsync(context.Background(), &e, event.SourceProducer, k.runID, func(_ kafka.Ack, err error) {
		if err != nil {
			k.mu.Lock()
			if k.firstErr == nil {
				k.firstErr = err
			}
			k.mu.Unlock()
		}
	})
}

func (k *kafkaSink) stats() kafka.ProducerStats { return k.p.Stats() }

func (k *kafkaSink) close() string {
	rep := k.p.Close()
	note := fmt.Sprintf("; flushed %d at exit in %.1fs", rep.Flushed, rep.Elapsed.Seconds())
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.firstErr != nil {
		note += "; first error: " + k.firstErr.Error()
	}
	return note
}

type printSink struct {
	mu        sync.Mutex
	lastFlush time.Time
	w         *bufio.Writer
	enc       *json.Encoder
	n         atomic.Int64
	fails     atomic.Int64
	err       error
}

func newPrintSink(w io.Writer) *printSink {
	bw := bufio.NewWriter(w)
	return &printSink{w: bw, enc: json.NewEncoder(bw)}
}

func (p *printSink) send(e event.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.enc.Encode(&e); err != nil {
		p.fails.Add(1)
		p.err = err
		return
	}
	p.n.Add(1)
	// Keep a slow dry run visible line by line, a fast one efficient.
	if now := time.Now(); now.Sub(p.lastFlush) > 50*time.Millisecond {
		p.lastFlush = now
		if err := p.w.Flush(); err != nil {
			p.err = err
		}
	}
}

func (p *printSink) stats() kafka.ProducerStats {
	n, f := p.n.Load(), p.fails.Load()
	return kafka.ProducerStats{Sent: n + f, Acked: n, Failed: f}
}

func (p *printSink) close() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.w.Flush(); err != nil && p.err == nil {
		p.err = err
	}
	if p.err != nil {
		return "; write error: " + p.err.Error()
	}
	return ""
}

// progress prints a status line to stderr about once a second: in place
// on a terminal, one line per second otherwise.
type progress struct {
	w    io.Writer
	s    sink
	tty  bool
	done chan struct{}
	wg   sync.WaitGroup
}

func newProgress(w io.Writer, s sink) *progress {
	return &progress{w: w, s: s, tty: isTerminal(w), done: make(chan struct{})}
}

func (p *progress) start() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		var last int64
		lastAt := start
		for {
			select {
			case <-p.done:
				if p.tty {
					fmt.Fprint(p.w, "\r\033[K")
				}
				return
			case now := <-t.C:
				st := p.s.stats()
				rate := float64(st.Acked-last) / now.Sub(lastAt).Seconds()
				last, lastAt = st.Acked, now
				line := fmt.Sprintf("progress: %s sent %d, acked %d, failed %d, %.0f events/s",
					now.Sub(start).Truncate(time.Second), st.Sent, st.Acked, st.Failed, rate)
				if p.tty {
					fmt.Fprint(p.w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(p.w, line)
				}
			}
		}
	}()
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

// span is a duration flag that also takes days, as 14d.
type span time.Duration

func (d *span) String() string { return time.Duration(*d).String() }

func (d *span) Set(v string) error {
	v = strings.TrimSpace(v)
	if n, ok := strings.CutSuffix(v, "d"); ok {
		f, err := strconv.ParseFloat(n, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%q is not a duration such as 14d or 36h", v)
		}
		*d = span(f * float64(24*time.Hour))
		return nil
	}
	p, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 14d or 36h", v)
	}
	*d = span(p)
	return nil
}

// seconds is a duration flag that also takes a bare number of seconds, as
// the seed's scripts did (--duration 60 --interval 0.5).
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }

func (s *seconds) Set(v string) error {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		*s = seconds(f * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is neither seconds nor a duration such as 1m30s", v)
	}
	*s = seconds(d)
	return nil
}
