package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulse-dev/pulse/internal/generator"
)

// HTTPResult is the ingest API's throughput into Kafka.
type HTTPResult struct {
	// Create is POST /api/events/create/ answered 201, per second.
	Create       Spread `json:"create_requests_per_s"`
	CreateErrors int64  `json:"create_errors"`
	// Batch is events per second accepted through POST /api/events/batch/.
	Batch       Spread `json:"batch_events_per_s"`
	BatchErrors int64  `json:"batch_errors"`
	Shape       string `json:"shape"`
}

func (r *runner) http(ctx context.Context) error {
	p := r.plan
	// No consumers: this measures ingest into Kafka alone, so the store
	// does not take the CPU the HTTP path is measured on.
	in, stop, err := r.serve(ctx, "http", serverOpts{consumers: 0})
	if err != nil {
		return err
	}
	defer stop()
	gen := generator.New(generator.Config{Seed: 11})
	one := gen.Next()
	one.EventID = ""
	single, err := json.Marshal(&one)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	batch := struct {
		Events []json.RawMessage `json:"events"`
	}{}
	for range p.BatchSize {
		e := gen.Next()
		e.EventID = ""
		v, err := json.Marshal(&e)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		batch.Events = append(batch.Events, v)
	}
	many, err := json.Marshal(batch)
	if err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	res := &HTTPResult{}
	var creates, batches []float64
	for i := range p.Reps {
		ok, bad, err := r.hammer(ctx, in.url("/api/events/create/"), single, p.HTTPClients, p.HTTPDuration)
		if err != nil {
			return err
		}
		creates = append(creates, ok)
		res.CreateErrors += bad
		ok, bad, err = r.hammer(ctx, in.url("/api/events/batch/"), many, p.BatchClients, p.HTTPDuration)
		if err != nil {
			return err
		}
		batches = append(batches, ok*float64(p.BatchSize))
		res.BatchErrors += bad
		r.progress("http run %d: create %.0f requests/s, batch %.0f events/s", i+1, creates[i], batches[i])
	}
	res.Create, res.Batch = spread(creates), spread(batches)
	res.Shape = fmt.Sprintf("Go load generator in the same process: create: %d goroutines, keep-alive (http.Transport, MaxIdleConnsPerHost %d), one %d-byte event per request for %s; batch: %d goroutines, %d events (%d bytes) per request for %s; 201 counted once Kafka acknowledged (acks=all); no consumers running, per-IP ingest limit off", p.HTTPClients, p.HTTPClients, len(single), p.HTTPDuration, p.BatchClients, p.BatchSize, len(many), p.HTTPDuration)
	r.rep.HTTP = res
	return nil
}

// hammer posts body from n goroutines for d and counts 201 answers and
// the rest. It fails only when nothing succeeds.
func (r *runner) hammer(ctx context.Context, url string, body []byte, n int, d time.Duration) (perSec float64, bad int64, err error) {
	client := httpClient(n)
	defer client.CloseIdleConnections()
	var okN, badN atomic.Int64
	var firstErr firstError
	// Requests are not cancelled at the end: each one started finishes,
	// and only those started within d are counted.
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					firstErr.set(err)
					badN.Add(1)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					firstErr.set(err)
					badN.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					okN.Add(1)
				} else {
					firstErr.set(fmt.Errorf("status %d", resp.StatusCode))
					badN.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if okN.Load() == 0 {
		return 0, badN.Load(), fmt.Errorf("POST %s: nothing accepted: %v", url, firstErr.get())
	}
	return float64(okN.Load()) / elapsed.Seconds(), badN.Load(), nil
}

// firstError keeps the first error of several goroutines.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
