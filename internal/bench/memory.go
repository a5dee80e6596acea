package bench

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
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
	SlopeMBPerMin float64 `json:"rss_slope_mb_per_min_second_half"`
	HeapEndMB     float64 `json:"go_heap_in_use_end_mb"`
	// SQLiteEndMB is what SQLite holds at the end, its page caches
	// included (0 where it cannot be read).
	SQLiteEndMB float64 `json:"sqlite_heap_end_mb"`
	// BrokerRetention is the embedded broker's retention age in this
	// run, and BrokerLogMB the size of its log on disk at the end.
	BrokerRetention string    `json:"broker_retention"`
	BrokerLogMB     float64   `json:"broker_log_end_mb"`
	Samples         []float64 `json:"rss_samples_mb"`
	Shape           string    `json:"shape"`
}

// memoryBrokerRetention is the embedded broker's retention in the memory
// run. kfake keeps an index entry in memory for every record batch of
// its log, so the process grows with the log until retention starts
// deleting; at the default (7 days, 1 GiB a partition) that takes more
// than an hour at 5,000 events/s. A 2-minute window makes the steady
// state arrive within the run, so that any growth left is a leak.
const memoryBrokerRetention = 2 * time.Minute

func (r *runner) memory(ctx context.Context) error {
	p := r.plan
	in, stop, err := r.serve(ctx, "memory", serverOpts{consumers: members, brokerRetention: memoryBrokerRetention})
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
	if err := r.writeHeapProfile(); err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapEndMB = float64(ms.HeapInuse) / (1 << 20)
	m.SQLiteEndMB = sqliteHeapMB()
	m.BrokerRetention = memoryBrokerRetention.String()
	m.BrokerLogMB = float64(dirBytes(filepath.Join(in.dir, "kafka"))) / (1 << 20)
	m.Shape = fmt.Sprintf("%.0f events/s for %s into one in-process `pulse serve` (SQLite, %d consumers, one WebSocket client), RSS of the whole bench process (the load producer included) sampled every %s; embedded broker retention %s instead of the default 7 days: the broker holds an index entry in memory per record batch of its log, so RSS levels off only once retention deletes as much as arrives, which at the default takes over an hour at this rate", p.MemoryRate, p.MemoryDuration, members, sample, memoryBrokerRetention)
	r.rep.Memory = m
	r.progress("memory: RSS %.0f → %.0f MB, slope %.1f MB/min over the second half", m.StartMB, m.EndMB, m.SlopeMBPerMin)
	return nil
}

// dirBytes is the size of the files under dir (0 if it cannot be read).
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
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
