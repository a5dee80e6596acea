package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/store"
)

// Group is what the rules read of the group monitor: its latest sample,
// taken every few seconds whatever the rules.
type Group interface {
	Consumers(ctx context.Context) (monitor.ConsumersView, error)
}

// Counts is what the rules read of the store: the running totals (kept in
// each batch's transaction) and the rollups, never the events.
type Counts interface {
	Totals(ctx context.Context, recentSince time.Time) (store.Totals, error)
	RollupCounts(ctx context.Context, q store.RollupQuery) ([]store.RollupCount, error)
}

// week is how far back ingest_vs_last_week looks.
const week = 7 * 24 * time.Hour

// sample is the processing-log totals at one evaluation.
type sample struct {
	at                     time.Time
	completed, failed, dlq int64
	dDone, dFailed, dDLQ   int64 // added since the sample before
	valid                  bool  // a sample before it was taken
}

// maxSamples bounds the samples kept: the longest window at the shortest
// interval this package is run with, with room.
const maxSamples = 20000

// reader reads the signals of one evaluation. It keeps the processing-log
// totals of past evaluations, because a rate is what they added over a
// window.
type reader struct {
	group   Group
	counts  Counts
	samples []sample
}

// observe takes the processing-log totals once per evaluation. Retention
// takes off the totals what it deletes, so each step's change is clamped
// at 0: a step in which retention ran counts what it can.
func (rd *reader) observe(ctx context.Context, now time.Time) error {
	t, err := rd.counts.Totals(ctx, now)
	if err != nil {
		return fmt.Errorf("read the totals: %w", err)
	}
	s := sample{at: now, completed: t.Messages[event.StatusCompleted], failed: t.Messages[event.StatusFailed],
		dlq: t.Messages[event.StatusDeadLettered]}
	if n := len(rd.samples); n > 0 {
		p := rd.samples[n-1]
		s.dDone, s.dFailed, s.dDLQ = max(0, s.completed-p.completed), max(0, s.failed-p.failed), max(0, s.dlq-p.dlq)
		s.valid = true
	}
	rd.samples = append(rd.samples, s)
	// Older than the longest window is never read again.
	cut := 0
	for cut < len(rd.samples) && (now.Sub(rd.samples[cut].at) > MaxWindow+time.Minute || len(rd.samples)-cut > maxSamples) {
		cut++
	}
	rd.samples = rd.samples[cut:]
	return nil
}

// sums adds the changes of the steps ending in (now-window, now]; ok is
// false until the samples cover the window.
func (rd *reader) sums(now time.Time, window time.Duration) (done, failed, dlq int64, ok bool) {
	from := now.Add(-window)
	if len(rd.samples) == 0 || rd.samples[0].at.After(from) {
		return 0, 0, 0, false
	}
	for i := len(rd.samples) - 1; i >= 0 && rd.samples[i].at.After(from); i-- {
		s := rd.samples[i]
		if s.valid {
			done, failed, dlq = done+s.dDone, failed+s.dFailed, dlq+s.dDLQ
		}
	}
	return done, failed, dlq, true
}

// value is the rule's signal now; ok is false when there is nothing to
// compare (no sample of the group yet, a window not yet covered, or a
// percentage of nothing).
func (rd *reader) value(ctx context.Context, r *Rule, now time.Time, view *monitor.ConsumersView) (float64, bool, error) {
	switch r.Signal {
	case SignalLagSeconds:
		if view == nil {
			return 0, false, nil
		}
		return view.MaxLagSeconds, true, nil
	case SignalConsumers:
		if view == nil {
			return 0, false, nil
		}
		return float64(len(view.Members)), true, nil
	case SignalDLQRate:
		_, _, dlq, ok := rd.sums(now, r.Window.D())
		return float64(dlq) / r.Window.D().Minutes(), ok, nil
	case SignalErrorRate:
		done, failed, dlq, ok := rd.sums(now, r.Window.D())
		if !ok || done+failed+dlq == 0 {
			return 0, false, nil
		}
		return 100 * float64(failed+dlq) / float64(done+failed+dlq), true, nil
	case SignalIngestVsLastWeek:
		return rd.ratio(ctx, r, now, week)
	case SignalEventCount:
		if r.Compare == ComparePreviousPeriod {
			return rd.ratio(ctx, r, now, r.Window.D())
		}
		to := rd.windowEnd(now, r.Window.D())
		n, err := rd.count(ctx, r, to.Add(-r.Window.D()), to)
		return float64(n), err == nil, err
	}
	return 0, false, fmt.Errorf("unknown signal %q", r.Signal)
}

// ratio is the window's count as a percentage of the window back before.
func (rd *reader) ratio(ctx context.Context, r *Rule, now time.Time, back time.Duration) (float64, bool, error) {
	to := rd.windowEnd(now, r.Window.D())
	from := to.Add(-r.Window.D())
	cur, err := rd.count(ctx, r, from, to)
	if err != nil {
		return 0, false, err
	}
	prev, err := rd.count(ctx, r, from.Add(-back), to.Add(-back))
	if err != nil || prev == 0 {
		return 0, false, err
	}
	return 100 * float64(cur) / float64(prev), true, nil
}

// width is the rollup width a window is read at: minutes, or hours for a
// window of whole hours from 2 h, so that a day's window reads 24 buckets
// rather than 1,440.
func width(window time.Duration) int64 {
	if window >= 2*time.Hour && window%time.Hour == 0 {
		return store.RollupHour
	}
	return store.RollupMinute
}

// windowEnd is the end of the last complete bucket: the bucket still
// filling would read as a fall.
func (rd *reader) windowEnd(now time.Time, window time.Duration) time.Time {
	return time.Unix(store.RollupBucket(now, width(window)), 0).UTC()
}

// count reads the events of [from, to) the rule counts from the rollups.
func (rd *reader) count(ctx context.Context, r *Rule, from, to time.Time) (int64, error) {
	q := store.RollupQuery{Width: width(r.Window.D()), Dim: store.DimAll, From: from, To: to}
	if r.Page != "" {
		q.Dim = store.DimPage
	}
	if r.EventType != "" {
		q.Types = []string{r.EventType}
	}
	rows, err := rd.counts.RollupCounts(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("read the rollups: %w", err)
	}
	var n int64
	for _, c := range rows {
		if r.Page == "" || c.Value == r.Page {
			n += c.Events
		}
	}
	return n, nil
}
