package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/api"
	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/generator"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/load"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/server"
)

// pool holds generated events, encoded once, without event_id so that
// every record gets its own id derived from its coordinates: a value can be
// sent many times and each send is a new event to store.
type pool struct {
	keys, values [][]byte
	bytes        int // mean value size
}

func newPool(n int, pad int) (*pool, error) {
	gen := generator.New(generator.Config{Seed: 42})
	p := &pool{keys: make([][]byte, n), values: make([][]byte, n)}
	total := 0
	for i := range n {
		e := gen.Next()
		e.EventID = ""
		if pad > 0 {
			e.Message = padding(pad)
		}
		v, err := json.Marshal(&e)
		if err != nil {
			return nil, fmt.Errorf("encode event: %w", err)
		}
		p.keys[i], p.values[i] = e.Key(), v
		total += len(v)
	}
	p.bytes = total / max(n, 1)
	return p, nil
}

func padding(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return string(b)
}

func (p *pool) record(i int64) *kgo.Record {
	j := int(i % int64(len(p.values)))
	return &kgo.Record{Key: p.keys[j], Value: p.values[j], Headers: []kgo.RecordHeader{{Key: record.HeaderSource, Value: []byte(event.SourceProducer)}}}
}

// stampedRecord is a fresh event whose timestamp is now, so that a reader
// of the stored event or of the WebSocket frame can tell its age.
func stampedRecord(gen *generator.Generator, now time.Time) (*kgo.Record, error) {
	e := gen.Next()
	e.EventID, e.Timestamp = "", now
	v, err := json.Marshal(&e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return &kgo.Record{Key: e.Key(), Value: v, Headers: []kgo.RecordHeader{{Key: record.HeaderSource, Value: []byte(event.SourceProducer)}}}, nil
}

// loader sends records to the events topic through Pulse's own producer
// (acks=all, idempotent, snappy, 5 ms linger), as `pulse produce` does.
type loader struct {
	p *kafka.Producer
}

func newLoader(brokerAddr string, log *slog.Logger) (*loader, error) {
	cfg := config.Default()
	cfg.BootstrapServers = brokerAddr
	p, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: &cfg, Name: "bench"}, log, nil)
	if err != nil {
		return nil, err
	}
	return &loader{p: p}, nil
}

// send hands a record over; once handed over it is never cancelled, so
// that stopping a paced run does not fail what is buffered.
func (l *loader) send(ctx context.Context, r *kgo.Record) {
	l.p.ProduceRecordAsync(context.WithoutCancel(ctx), r, func(kafka.Ack, error) {})
}

func (l *loader) acked() int64 { return l.p.Stats().Acked }

func (l *loader) close() { l.p.Close() }

// paced sends make(i) at rate records/s for d, in bursts of at most 5 ms
// worth (the load runner's pacer), and returns how many it sent. It stops
// early when ctx ends.
func (l *loader) paced(ctx context.Context, rate float64, d time.Duration, make func(i int64, now time.Time) (*kgo.Record, error)) (int64, error) {
	p := load.NewPacer(rate, 5*time.Millisecond)
	total := int64(rate * d.Seconds())
	var sent int64
	for sent < total {
		n, err := p.Take(ctx, int(min(int64(p.Burst()), total-sent)))
		if err != nil {
			return sent, err
		}
		now := time.Now()
		for range n {
			r, err := make(sent, now)
			if err != nil {
				return sent, err
			}
			l.send(ctx, r)
			sent++
		}
	}
	return sent, nil
}

// waitAcked polls until n records are acknowledged or the deadline passes.
func (l *loader) waitAcked(ctx context.Context, n int64, within time.Duration) error {
	return poll(ctx, within, func() (bool, error) { return l.acked() >= n, nil },
		func() string { return fmt.Sprintf("%d of %d records acknowledged", l.acked(), n) })
}

// poll checks cond every 20 ms until it holds, fails, or within passes.
func poll(ctx context.Context, within time.Duration, cond func() (bool, error), state func() string) error {
	deadline := time.Now().Add(within)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %s", within, state())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// instance is one in-process `pulse serve`.
type instance struct {
	*server.Server
	dir    string
	cancel context.CancelFunc
	done   chan error
	client *http.Client
}

// serverOpts shape an instance.
type serverOpts struct {
	// databaseURL is empty for SQLite under the data directory.
	databaseURL string
	consumers   int
	// brokerRetention replaces the embedded broker's default retention
	// age (0 keeps pulse serve's default).
	brokerRetention time.Duration
}

// startServer assembles and runs `pulse serve` in this process on free
// ports with its data under dir: embedded broker (persisted, as serve
// runs it), the simulation off, the per-IP ingest limit off (its default).
// It returns once every consumer holds its partitions: members join one
// by one, and each late join stops the group for a cooperative rebalance
// of a few seconds, which a measurement taken meanwhile would count as
// the pipeline's own stall (drain rates of 15k and 57k events/s from the
// same binary, one run after the other).
func startServer(ctx context.Context, dir string, o serverOpts, log *slog.Logger) (*instance, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	cfg := config.Default()
	cfg.Addr, cfg.BrokerAddr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.Consumers = o.consumers
	cfg.Simulate = false
	// The per-IP ingest limit would measure the limiter, not the path.
	cfg.IngestRate = 0
	// The fan-out's clients all come from 127.0.0.1: the per-client
	// caps would refuse all but the first 64 WebSockets and 256
	// connections.
	cfg.WSMaxClientsPerIP = cfg.WSMaxClients
	cfg.MaxConnsPerIP = 0
	cfg.DatabaseURL = o.databaseURL
	if o.brokerRetention > 0 {
		cfg.BrokerRetention = o.brokerRetention
	}
	bc := broker.Config{Addr: cfg.BrokerAddr, DataDir: dir, Topics: []broker.Topic{
		{Name: cfg.Topic, Partitions: int32(cfg.Partitions)}, {Name: cfg.DLQTopic, Partitions: int32(cfg.Partitions)},
	}, Retention: cfg.BrokerRetention, RetentionBytes: cfg.BrokerRetentionBytes}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s, err := server.New(runCtx, cfg, server.Options{HTTP: true, Broker: &bc, ShutdownTimeout: 20 * time.Second}, log)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start server: %w", err)
	}
	in := &instance{Server: s, dir: dir, cancel: cancel, done: make(chan error, 1), client: httpClient(64)}
	go func() { in.done <- s.Run(runCtx) }()
	if err := in.waitAssigned(ctx, o.consumers, cfg.Partitions); err != nil {
		_ = in.stop()
		return nil, err
	}
	return in, nil
}

// waitAssigned waits until each of the server's consumers holds
// partitions and together they hold all of them, from GET
// /api/consumer_metrics/ (the members' own view of their assignment).
func (in *instance) waitAssigned(ctx context.Context, consumers, partitions int) error {
	want := min(consumers, partitions)
	var state string
	return poll(ctx, time.Minute, func() (bool, error) {
		var m api.ConsumerMetrics
		if err := in.getJSON(ctx, "/api/consumer_metrics/", &m); err != nil {
			return false, err
		}
		owners, held := 0, 0
		for _, c := range m.Consumers {
			if len(c.Partitions) > 0 {
				owners++
			}
			held += len(c.Partitions)
		}
		state = fmt.Sprintf("%d of %d consumers hold %d of %d partitions", owners, want, held, partitions)
		return owners == want && (want == 0 || held == partitions), nil
	}, func() string { return state })
}

// stop shuts the instance down and waits for it.
func (in *instance) stop() error {
	in.cancel()
	in.client.CloseIdleConnections()
	select {
	case err := <-in.done:
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		return nil
	case <-time.After(90 * time.Second):
		return fmt.Errorf("server did not stop within 90s")
	}
}

func (in *instance) url(path string) string { return "http://" + in.Addr() + path }

func httpClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute,
	}}
}

// stored is how many events the server has stored, from GET
// /api/queue/stats/ (completed messages: the simulation is off, so every
// event completes).
func (in *instance) stored(ctx context.Context) (int64, error) {
	var q struct {
		Completed int64 `json:"completed"`
	}
	if err := in.getJSON(ctx, "/api/queue/stats/", &q); err != nil {
		return 0, err
	}
	return q.Completed, nil
}

func (in *instance) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.url(path), nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

// waitStored polls until n events are stored.
func (in *instance) waitStored(ctx context.Context, n int64, within time.Duration) error {
	var last int64
	return poll(ctx, within, func() (bool, error) {
		var err error
		last, err = in.stored(ctx)
		return last >= n, err
	}, func() string { return fmt.Sprintf("%d of %d events stored", last, n) })
}

// wsClient is a dashboard on /ws/events/ that counts what it is sent and
// how old each event is on arrival (now minus the event's timestamp) and
// when it was stored (created_at minus timestamp).
type wsClient struct {
	conn *websocket.Conn

	mu        sync.Mutex
	delivered int64
	dropped   int64
	toWS      []time.Duration
	toStore   []time.Duration
	record    bool
	errs      atomic.Int64
}

func dialWS(ctx context.Context, in *instance, record bool) (*wsClient, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, "ws://"+in.Addr()+"/ws/events/", nil)
	if err != nil {
		return nil, fmt.Errorf("dial websocket: %w", err)
	}
	conn.SetReadLimit(16 << 20)
	return &wsClient{conn: conn, record: record}, nil
}

// wsFrame is what a recording client decodes of a frame: the two times of
// each event and the count of sampled ones. Decoding whole events took a
// quarter of the CPU of a 1,000-client run, CPU the server is measured on.
type wsFrame struct {
	Type    string   `json:"type"`
	Event   *stamps  `json:"event"`
	Events  []stamps `json:"events"`
	Dropped int64    `json:"dropped"`
}

// stamps are an event's produce time and stored time.
type stamps struct {
	Timestamp time.Time `json:"timestamp"`
	CreatedAt time.Time `json:"created_at"`
}

// read consumes frames until the connection ends.
// readInBackground reads frames until the returned stop is called, which
// waits for the reader to end.
func (c *wsClient) readInBackground(ctx context.Context) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.read(rctx) })
	return func() {
		cancel()
		wg.Wait()
	}
}

func (c *wsClient) read(ctx context.Context) {
	// One buffer per client, reused for every frame: a thousand clients
	// allocating each frame anew would measure the collector, not Pulse.
	var buf bytes.Buffer
	for {
		_, rd, err := c.conn.Reader(ctx)
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			return
		}
		data := buf.Bytes()
		now := time.Now()
		if !c.record {
			// Counting only: a light scan instead of a full decode, so
			// that a thousand in-process clients do not take the CPU the
			// server is measured on.
			n, dropped, ok := countFrame(data)
			if !ok {
				c.errs.Add(1)
				continue
			}
			c.mu.Lock()
			c.delivered += n
			c.dropped += dropped
			c.mu.Unlock()
			continue
		}
		var f wsFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.errs.Add(1)
			continue
		}
		var evs []stamps
		switch f.Type {
		case "new_event":
			if f.Event != nil {
				evs = []stamps{*f.Event}
			}
		case "new_events":
			evs = f.Events
		default:
			continue
		}
		c.mu.Lock()
		c.delivered += int64(len(evs))
		c.dropped += f.Dropped
		if c.record {
			for i := range evs {
				c.toWS = append(c.toWS, now.Sub(evs[i].Timestamp))
				c.toStore = append(c.toStore, evs[i].CreatedAt.Sub(evs[i].Timestamp))
			}
		}
		c.mu.Unlock()
	}
}

// reset forgets what was counted so far (the warm-up).
func (c *wsClient) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delivered, c.dropped, c.toWS, c.toStore = 0, 0, nil, nil
}

func (c *wsClient) snapshot() (delivered, dropped int64, toWS, toStore []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.delivered, c.dropped, append([]time.Duration(nil), c.toWS...), append([]time.Duration(nil), c.toStore...)
}

// tempDir makes a fresh directory under root for one run.
func tempDir(root, name string) (string, error) {
	d, err := os.MkdirTemp(root, name+"-")
	if err != nil {
		return "", fmt.Errorf("create run directory: %w", err)
	}
	return filepath.Clean(d), nil
}

// metric reads one unlabelled gauge or counter (summed over its labels)
// from the server's registry; -1 when absent.
func (in *instance) metric(name string) float64 {
	mfs, err := in.Registry().Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			}
		}
		return sum
	}
	return -1
}

// hubClients is the number of WebSocket clients the hub holds.
func (in *instance) hubClients() int { return int(in.metric("pulse_ws_clients")) }

// histogramMean is the mean of the histogram whose name ends with
// suffix, over all its series; 0 when absent or empty.
func (in *instance) histogramMean(suffix string) float64 {
	mfs, err := in.Registry().Gather()
	if err != nil {
		return 0
	}
	var sum float64
	var n uint64
	for _, mf := range mfs {
		if !strings.HasSuffix(mf.GetName(), suffix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				sum += h.GetSampleSum()
				n += h.GetSampleCount()
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

var (
	newEventPrefix  = []byte(`{"type":"new_event",`)
	newEventsPrefix = []byte(`{"type":"new_events",`)
	eventIDKey      = []byte(`"event_id":`)
	droppedKey      = []byte(`"dropped":`)
)

// countFrame counts the events of a new_event or new_events frame and
// reads its dropped field without decoding the events; other frames count
// zero. ok is false for a frame it cannot read.
func countFrame(data []byte) (events, dropped int64, ok bool) {
	switch {
	case bytes.HasPrefix(data, newEventPrefix):
		return 1, 0, true
	case bytes.HasPrefix(data, newEventsPrefix):
		i := bytes.LastIndex(data, droppedKey)
		if i < 0 {
			return 0, 0, false
		}
		rest := data[i+len(droppedKey):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		d, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		return int64(bytes.Count(data, eventIDKey)), d, true
	}
	return 0, 0, true
}
