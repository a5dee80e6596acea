package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
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
	// Collect is events per second accepted through POST /api/collect,
	// pulse.js's door: small batches from many keep-alive clients.
	Collect       Spread `json:"collect_events_per_s"`
	CollectErrors int64  `json:"collect_errors"`
	Shape         string `json:"shape"`
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
	collectBody, key, err := r.collectBatch(ctx, in, gen, p.CollectBatch)
	if err != nil {
		return err
	}
	res := &HTTPResult{}
	var creates, batches, collects []float64
	for i := range p.Reps {
		ok, bad, err := r.hammer(ctx, in.url("/api/events/create/"), single, p.HTTPClients, p.HTTPDuration, http.StatusCreated)
		if err != nil {
			return err
		}
		creates = append(creates, ok)
		res.CreateErrors += bad
		ok, bad, err = r.hammer(ctx, in.url("/api/events/batch/"), many, p.BatchClients, p.HTTPDuration, http.StatusCreated)
		if err != nil {
			return err
		}
		batches = append(batches, ok*float64(p.BatchSize))
		res.BatchErrors += bad
		ok, bad, err = r.hammer(ctx, in.url("/api/collect?key="+key), collectBody, p.CollectClients, p.HTTPDuration, http.StatusOK)
		if err != nil {
			return err
		}
		collects = append(collects, ok*float64(p.CollectBatch))
		res.CollectErrors += bad
		r.progress("http run %d: create %.0f requests/s, batch %.0f events/s, collect %.0f events/s", i+1, creates[i], batches[i], collects[i])
	}
	res.Create, res.Batch, res.Collect = spread(creates), spread(batches), spread(collects)
	res.Shape = fmt.Sprintf("Go load generator in the same process: create: %d goroutines, keep-alive (http.Transport, MaxIdleConnsPerHost %d), one %d-byte event per request for %s; batch: %d goroutines, %d events (%d bytes) per request for %s; collect: %d goroutines, keep-alive, one text/plain batch of %d events (%d bytes, a source's write key) per request for %s, as pulse.js sends them; 201 (collect: 200) counted once Kafka acknowledged (acks=all); no consumers running, per-IP ingest limit off", p.HTTPClients, p.HTTPClients, len(single), p.HTTPDuration, p.BatchClients, p.BatchSize, len(many), p.HTTPDuration, p.CollectClients, p.CollectBatch, len(collectBody), p.HTTPDuration)
	r.rep.HTTP = res
	return nil
}

// hammer posts body from n goroutines for d and counts 201 answers and
// the rest. It fails only when nothing succeeds.
func (r *runner) hammer(ctx context.Context, url string, body []byte, n int, d time.Duration, want int) (perSec float64, bad int64, err error) {
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
				req.Header.Set("Content-Type", "text/plain")
				if want != http.StatusOK {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := client.Do(req)
				if err != nil {
					firstErr.set(err)
					badN.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == want {
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

// collectBatch creates a source on in and returns a batch of n events as
// pulse.js sends it, with the source's write key.
func (r *runner) collectBatch(ctx context.Context, in *instance, gen *generator.Generator, n int) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url("/api/sources/"), strings.NewReader(`{"name":"bench","origins":["https://bench.example"]}`))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("create a source: %w", err)
	}
	defer resp.Body.Close()
	var created struct {
		Source struct {
			WriteKey string `json:"write_key"`
		} `json:"source"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated {
		return nil, "", fmt.Errorf("create a source: status %d: %v", resp.StatusCode, err)
	}
	type tracked struct {
		EventID     string          `json:"event_id"`
		EventType   string          `json:"event_type"`
		AnonymousID string          `json:"anonymous_id"`
		SessionID   string          `json:"session_id"`
		StreamID    string          `json:"stream_id"`
		Seq         int             `json:"seq"`
		Timestamp   time.Time       `json:"timestamp"`
		Page        string          `json:"page"`
		ElementID   string          `json:"element_id,omitempty"`
		Properties  json.RawMessage `json:"properties,omitempty"`
	}
	batch := struct {
		SentAt time.Time `json:"sent_at"`
		Events []tracked `json:"events"`
	}{SentAt: time.Now()}
	for i := range n {
		e := gen.Next()
		batch.Events = append(batch.Events, tracked{
			EventID: event.NewID(), EventType: e.EventType, AnonymousID: e.UserID, SessionID: e.SessionID,
			StreamID: "bench-stream", Seq: i + 1, Timestamp: e.Timestamp, Page: e.Page, ElementID: e.ElementID,
			Properties: e.Properties,
		})
	}
	body, err := json.Marshal(batch)
	return body, created.Source.WriteKey, err
}
