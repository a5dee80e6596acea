package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Memory is the process's resident set over a sustained run.
type Memory struct {
	Rate     float64 `json:"rate_events_per_s"`
	Duration string  `json:"duration"`
	Sent     int64   `json:"sent"`
	// StartMB is after a short warm-up, EndMB at the end of the run.
	StartMB float64 `json:"rss_start_mb"`
	EndMB   float64 `json:"rss_end_mb"`
	MaxMB   float64 `json:"rss_max_mb"`
	// SlopeMBPerMin is the least-squares slope of RSS over the second
	// half of the run.
	SlopeMBPerMin float64   `json:"rss_slope_mb_per_min_second_half"`
	HeapEndMB     float64   `json:"go_heap_in_use_end_mb"`
	Samples       []float64 `json:"rss_samples_mb"`
	Shape         string    `json:"shape"`
}

func (r *runner) memory(ctx context.Context) error {
	p := r.plan
	in, stop, err := r.serve(ctx, "memory", serverOpts{consumers: members})
	if err != nil {
		return err
	}
	defer stop()
	// A dashboard is open, as in real use.
	c, err := dialWS(ctx, in, false)
	if err != nil {
		return err
	}
	defer c.readInBackground(ctx)()
	pl, err := newPool(4096, 0)
	if err != nil {
		return err
	}
	l, err := newLoader(in.BrokerAddr(), r.log)
	if err != nil {
		return err
	}
	defer l.close()
	runtime.GC()
	debug.FreeOSMemory()
	releaseCHeap()

	m := &Memory{Rate: p.MemoryRate, Duration: p.MemoryDuration.String()}
	sample := max(p.MemoryDuration/60, 100*time.Millisecond)
	var times []float64
	sctx, stop := context.WithCancel(ctx)
	var sw sync.WaitGroup
	sw.Go(func() {
		t := time.NewTicker(sample)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-sctx.Done():
				return
			case now := <-t.C:
				if v, err := rssMB(); err == nil {
					m.Samples = append(m.Samples, v)
					times = append(times, now.Sub(start).Minutes())
				}
			}
		}
	})
	sent, err := l.paced(ctx, p.MemoryRate, p.MemoryDuration, func(i int64, _ time.Time) (*kgo.Record, error) { return pl.record(i), nil })
	stop()
	sw.Wait()
	if err != nil {
		return err
	}
	m.Sent = sent
	if len(m.Samples) < 2 {
		return fmt.Errorf("only %d RSS samples", len(m.Samples))
	}
	m.StartMB, m.EndMB = m.Samples[0], m.Samples[len(m.Samples)-1]
	for _, v := range m.Samples {
		m.MaxMB = max(m.MaxMB, v)
	}
	h := len(m.Samples) / 2
	m.SlopeMBPerMin = slope(times[h:], m.Samples[h:])
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapEndMB = float64(ms.HeapInuse) / (1 << 20)
	m.Shape = fmt.Sprintf("%.0f events/s for %s into one in-process `pulse serve` (SQLite, %d consumers, one WebSocket client), RSS of the whole bench process (the load producer included) sampled every %s; the issue asks for 10 minutes, which does not fit the benchmark's 10-minute budget", p.MemoryRate, p.MemoryDuration, members, sample)
	r.rep.Memory = m
	r.progress("memory: RSS %.0f → %.0f MB, slope %.1f MB/min over the second half", m.StartMB, m.EndMB, m.SlopeMBPerMin)
	return nil
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}
