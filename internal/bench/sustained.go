package bench

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Sustained is the end-to-end throughput of one store behind the whole
// assembly.
type Sustained struct {
	Store string `json:"store"`
	// Capacity is the drain rate of a backlog, events/s, produced once the
	// group is settled and timed from its last acknowledgement, so neither
	// the group's join nor the produce is counted.
	Capacity Spread `json:"capacity_events_per_s"`
	// Sustained is the highest offered rate held with the lag bounded
	// for the plan's Hold, after a search in shorter steps.
	Sustained float64 `json:"sustained_events_per_s"`
	Steps     []Step  `json:"steps"`
	// InsertLimit is the raw insert rate of the same store in this run;
	// the ratios are to it.
	InsertLimit       float64 `json:"insert_limit_records_per_s"`
	SustainedRatio    float64 `json:"sustained_ratio_to_insert_limit"`
	CapacityRatio     float64 `json:"capacity_ratio_to_insert_limit"`
	Shape             string  `json:"shape"`
	ProfileWrittenTo  string  `json:"profile,omitempty"`
	EventBytes        int     `json:"event_bytes"`
	StoredAtEndOfRuns int64   `json:"stored_at_end"`
	// MeanBatch and MeanWriteMS are the pipeline's store writes on the
	// last run's server: records per write and milliseconds per write.
	MeanBatch   float64 `json:"mean_store_batch_records"`
	MeanWriteMS float64 `json:"mean_store_write_ms"`
}

// Step is one offered rate held for a while.
type Step struct {
	Offered  float64 `json:"offered_events_per_s"`
	Achieved float64 `json:"stored_events_per_s"`
	// Lag is produced-and-acknowledged minus stored, at the end of the
	// step and at its worst.
	LagEnd int64 `json:"lag_end"`
	LagMax int64 `json:"lag_max"`
	// LagLate is the smallest lag sampled over the step's last quarter:
	// lag that a stall raised but that came back down is bounded; lag
	// that only grows is not.
	LagLate int64   `json:"lag_late"`
	Seconds float64 `json:"seconds"`
	Bounded bool    `json:"bounded"`
	// Hold marks the long steps that confirm the search's result.
	Hold bool `json:"hold,omitempty"`
}

func (r *runner) sustained(ctx context.Context) error {
	if err := r.sustainedOn(ctx, "sqlite", ""); err != nil {
		return err
	}
	if r.pg == "" {
		return nil
	}
	return r.sustainedOn(ctx, "postgres", r.pg)
}

// sustainedOn measures one store: Reps drains of a backlog, then offered
// rates around the median capacity on the last run's server.
func (r *runner) sustainedOn(ctx context.Context, name, pgURL string) error {
	p := r.plan
	pl, err := newPool(4096, 0)
	if err != nil {
		return err
	}
	res := Sustained{Store: name, EventBytes: pl.bytes}
	switch name {
	case "sqlite":
		res.InsertLimit = r.rep.Limits.SQLiteInsert.Median
	case "postgres":
		if r.rep.Limits.PostgresInsert != nil {
			res.InsertLimit = r.rep.Limits.PostgresInsert.Median
		}
	}
	var caps []float64
	var last *instance
	var drop func()
	defer func() {
		if last != nil {
			if err := last.stop(); err != nil {
				r.note("%s: stopping the sustained-run server: %v", name, err)
			}
		}
		if drop != nil {
			drop()
		}
	}()
	for i := range p.Reps {
		if last != nil {
			if err := last.stop(); err != nil {
				return err
			}
			last = nil
		}
		if drop != nil {
			drop()
			drop = nil
		}
		dbURL := ""
		if pgURL != "" {
			var schema string
			if schema, drop, err = r.freshSchema(ctx); err != nil {
				return err
			}
			dbURL = withSearchPath(pgURL, schema)
		}
		in, c, err := r.drain(ctx, name, dbURL, pl, p.Backlog)
		if err != nil {
			return err
		}
		last = in
		caps = append(caps, c)
		r.progress("sustained %s: drain run %d: %.0f events/s", name, i+1, c)
	}
	res.Capacity = spread(caps)

	capacity := res.Capacity.Median
	var base int64
	if base, err = last.stored(ctx); err != nil {
		return err
	}
	l, err := newLoader(last.BrokerAddr(), r.log)
	if err != nil {
		return err
	}
	defer l.close()
	offer := func(rate float64, d time.Duration, hold bool) (Step, error) {
		st, err := r.step(ctx, last, l, pl, base, rate, d)
		if err != nil {
			return st, err
		}
		st.Hold = hold
		res.Steps = append(res.Steps, st)
		r.progress("sustained %s: offered %.0f/s for %s, stored %.0f/s, lag end %d late %d max %d, bounded %v",
			name, st.Offered, d, st.Achieved, st.LagEnd, st.LagLate, st.LagMax, st.Bounded)
		base, err = last.stored(ctx)
		return st, err
	}
	run := func() error {
		var s search
		for rate := 0.9 * capacity; rate > 0; {
			st, err := offer(rate, p.Step, false)
			if err != nil {
				return err
			}
			rate = s.next(st, capacity, len(res.Steps) < p.Steps)
		}
		// The search's steps are short; the figure is the rate then held
		// for the whole Hold.
		for i, rate := 0, s.held; i < p.Holds && rate > 0; i, rate = i+1, 0.95*rate {
			st, err := offer(rate, p.Hold, true)
			if err != nil {
				return err
			}
			if st.Bounded {
				res.Sustained = rate
				break
			}
		}
		return nil
	}
	if name == "sqlite" && r.cfg.CPUProfile != "" {
		err = r.withProfile(run)
		res.ProfileWrittenTo = r.cfg.CPUProfile
	} else {
		err = run()
	}
	if err != nil {
		return err
	}
	res.StoredAtEndOfRuns = base
	res.MeanBatch = last.histogramMean("store_batch_records")
	res.MeanWriteMS = 1000 * last.histogramMean("store_write_duration_seconds")
	res.SustainedRatio = ratio(res.Sustained, res.InsertLimit)
	res.CapacityRatio = ratio(res.Capacity.Median, res.InsertLimit)
	res.Shape = fmt.Sprintf("in-process `pulse serve` (embedded broker, 3 partitions, %d consumer-group members, %s, simulation off); capacity: once every member holds its partitions, a backlog of %d generated events (%d bytes each, no event_id: derived per record) produced at the broker's rate, timed from its last acknowledgement to 100%% stored, median of %d; sustained: offered rate held %s per step through Pulse's producer (acks=all, snappy, 5 ms linger), at most %d steps (90%% of capacity first, then a search narrowing to 5%%, stopping at 120%% of capacity), then the highest rate held is held again for %s to confirm it (5%% lower if it fails, at most %d holds); lag = acknowledged − stored, sampled every 250 ms; a step is bounded when the lag came down to at most max(¼ s of traffic, 5000) at least once in its last quarter and the stored rate over it is at least 95%% of the offered one", members, name, p.Backlog, pl.bytes, p.Reps, p.Step, p.Steps, p.Hold, p.Holds)
	r.rep.Sustained = append(r.rep.Sustained, res)
	return nil
}

// drain starts a server whose topic already holds backlog events and
// times how fast it stores them. The server keeps running for the caller.
func (r *runner) drain(ctx context.Context, name, dbURL string, pl *pool, backlog int) (*instance, float64, error) {
	dir, err := r.dir("sustained-" + name)
	if err != nil {
		return nil, 0, err
	}
	return r.drainIn(ctx, dir, dbURL, pl, backlog)
}

func (r *runner) drainIn(ctx context.Context, dir, dbURL string, pl *pool, backlog int) (*instance, float64, error) {
	in, err := startServer(ctx, dir, serverOpts{databaseURL: dbURL, consumers: members}, r.log)
	if err != nil {
		return nil, 0, err
	}
	fail := func(err error) (*instance, float64, error) {
		_ = in.stop()
		return nil, 0, err
	}
	// The backlog goes in once the group is settled, at the broker's rate
	// (about 20 times the store's): the drain is timed from the moment it
	// is all acknowledged, so neither the join nor the produce is in it.
	start, err := in.stored(ctx)
	if err != nil {
		return fail(err)
	}
	l, err := newLoader(in.BrokerAddr(), r.log)
	if err != nil {
		return fail(err)
	}
	defer l.close()
	for i := range backlog {
		l.send(ctx, pl.record(int64(i)))
	}
	if err := l.waitAcked(ctx, int64(backlog), 2*time.Minute); err != nil {
		return fail(err)
	}
	t := time.Now()
	n, err := in.stored(ctx)
	if err != nil {
		return fail(err)
	}
	target := start + int64(backlog)
	if target-n < int64(backlog)/2 {
		return fail(fmt.Errorf("drain: %d of the %d backlog stored before the produce was acknowledged; too little left to time", n-start, backlog))
	}
	if err := in.waitStored(ctx, target, 10*time.Minute); err != nil {
		return fail(err)
	}
	return in, float64(target-n) / max(time.Since(t).Seconds(), 1e-3), nil
}

// step offers rate for the plan's step and samples the lag.
func (r *runner) step(ctx context.Context, in *instance, l *loader, pl *pool, base int64, rate float64, d time.Duration) (Step, error) {
	st := Step{Offered: rate, LagLate: -1}
	acked0 := l.acked()
	sctx, cancel := context.WithCancel(ctx)
	sent := make(chan error, 1)
	go func() {
		_, err := l.paced(sctx, rate, d, func(i int64, _ time.Time) (*kgo.Record, error) { return pl.record(i), nil })
		sent <- err
	}()
	late := func(lag int64) {
		if st.LagLate < 0 || lag < st.LagLate {
			st.LagLate = lag
		}
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	var perr error
	var lastStored int64
loop:
	for {
		select {
		case perr = <-sent:
			break loop
		case <-t.C:
			s, err := in.stored(ctx)
			if err != nil {
				cancel()
				<-sent
				return st, err
			}
			lastStored = s
			lag := (l.acked() - acked0) - (s - base)
			st.LagMax = max(st.LagMax, lag)
			if time.Since(start) >= d*3/4 {
				late(max(0, lag))
			}
		}
	}
	cancel()
	if perr != nil {
		return st, perr
	}
	elapsed := time.Since(start)
	s, err := in.stored(ctx)
	if err != nil {
		return st, err
	}
	lastStored = s
	st.LagEnd = max(0, (l.acked()-acked0)-(lastStored-base))
	st.LagMax = max(st.LagMax, st.LagEnd)
	late(st.LagEnd)
	st.Seconds = elapsed.Seconds()
	st.Achieved = float64(lastStored-base) / elapsed.Seconds()
	// Bounded: over the last quarter of the step the lag came down at
	// least once to a quarter second of traffic (or a few write batches at
	// low rates), and the store kept up with the offered rate over the
	// step. A stall of a few hundred milliseconds (a checkpoint, the VM)
	// just before the end does not make a rate unsustainable; lag that
	// grows through the last quarter does.
	st.Bounded = float64(st.LagLate) <= max(rate/4, 5000) && st.Achieved >= 0.95*rate
	// Let the next step start from an empty queue.
	sentN := int64(rate * d.Seconds())
	if err := l.waitAcked(ctx, acked0+sentN, time.Minute); err != nil {
		return st, err
	}
	if err := in.waitStored(ctx, base+(l.acked()-acked0), 5*time.Minute); err != nil {
		return st, err
	}
	return st, nil
}

// withSearchPath puts Pulse's tables of a PostgreSQL URL into schema.
func withSearchPath(raw, schema string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// search finds the highest offered rate whose lag stays bounded: it
// starts at 90% of the drain capacity, climbs by 10% while steps hold,
// and after a failure offers a little under the rate the store did keep
// up with, then halves the interval between the highest rate held and
// the lowest failed until they are within 5% of each other.
type search struct {
	held   float64 // highest rate held so far
	failed float64 // lowest rate failed so far; 0 while none has
}

// next records st and returns the rate to offer next, or 0 to stop.
func (s *search) next(st Step, capacity float64, more bool) float64 {
	if st.Bounded {
		s.held = max(s.held, st.Offered)
	} else if s.failed == 0 || st.Offered < s.failed {
		s.failed = st.Offered
	}
	switch {
	case !more:
		return 0
	case s.failed == 0:
		// Everything held: stop well above the capacity measured alone.
		if next := s.held * 1.1; next <= 1.2*capacity {
			return next
		}
		return 0
	case s.held == 0:
		// Nothing held yet: just under what the store kept up with,
		// and at least 15% under the failed rate.
		return min(0.95*st.Achieved, 0.85*s.failed)
	case s.failed-s.held <= 0.05*s.failed:
		return 0
	default:
		return (s.held + s.failed) / 2
	}
}
