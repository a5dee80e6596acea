package bench

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/generator"
)

// Fanout is many dashboards watching a busy pipeline.
type Fanout struct {
	Clients   int     `json:"clients"`
	Connected int     `json:"connected"`
	Rate      float64 `json:"rate_events_per_s"`
	Sent      int64   `json:"sent"`
	// Stored is how many of them were stored (and so broadcast) by the
	// end; CaughtUp is false when the pipeline had not stored every sent
	// event 30 s after the load stopped.
	Stored   int64 `json:"stored"`
	CaughtUp bool  `json:"caught_up"`
	// Per client over the measured window: events delivered, events
	// counted as sampled (the frames' dropped), and both together.
	Delivered PerClient `json:"delivered_per_client"`
	Dropped   PerClient `json:"dropped_per_client"`
	Accounted PerClient `json:"accounted_per_client"`
	// Latency is produce to received, over the events delivered to the
	// clients that record it.
	Latency Latency `json:"delivery_latency"`
	// StoredLatency is produce to stored of the same events: what of the
	// delivery latency the pipeline accounts for.
	StoredLatency   Latency `json:"produce_to_stored"`
	LatencyClients  int     `json:"latency_clients"`
	CPUCores        float64 `json:"process_cpu_cores"`
	RSSMB           float64 `json:"rss_mb_max"`
	Disconnected    int     `json:"disconnected"`
	DecodeErrors    int64   `json:"decode_errors"`
	Shape           string  `json:"shape"`
	ProcessIncludes string  `json:"process_includes"`
}

// PerClient is a per-client count across clients.
type PerClient struct {
	Min    int64 `json:"min"`
	Median int64 `json:"median"`
	Max    int64 `json:"max"`
}

func perClient(v []int64) PerClient {
	if len(v) == 0 {
		return PerClient{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return PerClient{Min: s[0], Median: s[len(s)/2], Max: s[len(s)-1]}
}

func (r *runner) fanout(ctx context.Context) error {
	p := r.plan
	in, stop, err := r.serve(ctx, "fanout", serverOpts{consumers: members})
	if err != nil {
		return err
	}
	defer stop()
	// 25 clients, spread over the connection order, record latencies:
	// a quarter of a million samples in a full run. Each decodes every
	// frame it gets, which at 100 clients took a quarter of the CPU the
	// server is measured on.
	every := max(1, p.FanoutClients/25)
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	clients := make([]*wsClient, 0, p.FanoutClients)
	defer func() {
		cancel()
		for _, c := range clients {
			c.conn.Close(websocket.StatusNormalClosure, "bench done")
		}
		wg.Wait()
	}()
	for i := range p.FanoutClients {
		c, err := dialWS(ctx, in, i%every == 0)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		clients = append(clients, c)
		wg.Go(func() { c.read(rctx) })
	}
	if err := poll(ctx, 30*time.Second, func() (bool, error) { return in.hubClients() >= p.FanoutClients, nil },
		func() string { return fmt.Sprintf("%d of %d clients registered", in.hubClients(), p.FanoutClients) }); err != nil {
		return err
	}
	r.progress("fanout: %d clients connected", len(clients))
	l, err := newLoader(in.BrokerAddr(), r.log)
	if err != nil {
		return err
	}
	defer l.close()
	gen := generator.New(generator.Config{Seed: 13})
	stamped := func(_ int64, now time.Time) (*kgo.Record, error) { return stampedRecord(gen, time.Now()) }
	warm := min(2*time.Second, p.FanoutDuration/2)
	if _, err := l.paced(ctx, p.FanoutRate, warm, stamped); err != nil {
		return err
	}
	if err := in.waitStored(ctx, l.acked(), time.Minute); err != nil {
		return err
	}
	// Every client has seen the warm-up before the counts start.
	warmed := l.acked()
	_ = poll(ctx, 10*time.Second, func() (bool, error) {
		for _, c := range clients {
			if d, dr, _, _ := c.snapshot(); d+dr < warmed {
				return false, nil
			}
		}
		return true, nil
	}, func() string { return "" })
	for _, c := range clients {
		c.reset()
	}
	stored0, err := in.stored(ctx)
	if err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	releaseCHeap()
	cpu0, err := cpuTime()
	if err != nil {
		return err
	}
	t0 := time.Now()
	var rssMax float64
	var rssWG sync.WaitGroup
	sctx, stopSampling := context.WithCancel(ctx)
	rssWG.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := rssMB(); err == nil {
				rssMax = max(rssMax, v)
			}
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
		}
	})
	before := l.acked()
	sent, err := l.paced(ctx, p.FanoutRate, p.FanoutDuration, stamped)
	cpu1, cerr := cpuTime()
	wall := time.Since(t0)
	stopSampling()
	rssWG.Wait()
	if err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if err := l.waitAcked(ctx, before+sent, time.Minute); err != nil {
		return err
	}
	// The pipeline may not keep up while it shares the cores with every
	// client: give it a bounded time to catch up, then count what was
	// stored (only stored events are broadcast).
	caught := in.waitStored(ctx, l.acked(), 30*time.Second) == nil
	stored1, err := in.stored(ctx)
	if err != nil {
		return err
	}
	storedN := stored1 - stored0
	// Let the last flush reach every client: each must account for every
	// stored event, as delivered or as dropped, unless it was disconnected.
	_ = poll(ctx, 10*time.Second, func() (bool, error) {
		for _, c := range clients {
			if d, dr, _, _ := c.snapshot(); d+dr < storedN {
				return false, nil
			}
		}
		return true, nil
	}, func() string { return "" })

	f := &Fanout{Clients: p.FanoutClients, Connected: in.hubClients(), Rate: p.FanoutRate, Sent: sent,
		CPUCores: (cpu1 - cpu0).Seconds() / wall.Seconds(), RSSMB: rssMax, Stored: storedN, CaughtUp: caught}
	var del, drop, acc []int64
	var lat, stored []time.Duration
	for _, c := range clients {
		d, dr, toWS, toStore := c.snapshot()
		del, drop, acc = append(del, d), append(drop, dr), append(acc, d+dr)
		if c.record {
			lat = append(lat, toWS...)
			stored = append(stored, toStore...)
			f.LatencyClients++
		}
		f.DecodeErrors += c.errs.Load()
	}
	f.Disconnected = p.FanoutClients - f.Connected
	f.Delivered, f.Dropped, f.Accounted = perClient(del), perClient(drop), perClient(acc)
	f.Latency, f.StoredLatency = latency(lat), latency(stored)
	f.Shape = fmt.Sprintf("%d WebSocket clients (coder/websocket, in this process) connected to one in-process `pulse serve` (SQLite, %d consumers, simulation off) while %.0f events/s flow for %s after a %s warm-up; one client in %d records produce→received latency of every event it is sent", p.FanoutClients, members, p.FanoutRate, p.FanoutDuration, warm, every)
	f.ProcessIncludes = "CPU and RSS are of the whole bench process: server, embedded broker, SQLite, the load producer and every WebSocket client, on the same cores; before the measurement the memory earlier scenarios freed is handed back to the kernel (Go heap and C heap)"
	r.rep.Fanout = f
	r.progress("fanout: p99 %.0f ms, CPU %.2f cores, RSS %.0f MB", f.Latency.P99, f.CPUCores, f.RSSMB)
	return nil
}
