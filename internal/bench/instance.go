package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pulse-dev/pulse/internal/api"
	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/server"
)

// instance is one in-process `pulse serve`.
type instance struct {
	*server.Server
	dir    string
	cancel context.CancelFunc
	done   chan error
	client *http.Client
	// startup is how long server.New took: the broker, the store opened
	// and checked, the live statistics read from it.
	startup time.Duration
}

// serverOpts shape an instance.
type serverOpts struct {
	// databaseURL is empty for SQLite under the data directory.
	databaseURL string
	consumers   int
	// ui is the dashboard to serve; nil serves none.
	ui fs.FS
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
	cfg.HTTP.Addr, cfg.Broker.Addr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.Pipeline.Consumers = o.consumers
	cfg.Pipeline.Simulate = false
	// The per-IP ingest limit would measure the limiter, not the path.
	cfg.HTTP.IngestRate = 0
	cfg.HTTP.CollectClientRate, cfg.HTTP.CollectKeyRate = 0, 0
	// The fan-out's clients all come from 127.0.0.1: the per-client
	// caps would refuse all but the first 64 WebSockets and 256
	// connections.
	cfg.Live.WSMaxClientsPerIP = cfg.Live.WSMaxClients
	cfg.HTTP.MaxConnsPerIP = 0
	cfg.Store.DatabaseURL = o.databaseURL
	if o.brokerRetention > 0 {
		cfg.Broker.Retention = o.brokerRetention
	}
	bc, err := broker.FromConfig(cfg.DataDir, cfg.Broker, cfg.Kafka)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	began := time.Now()
	s, err := server.New(runCtx, cfg, server.Options{HTTP: true, Broker: &bc, UI: o.ui, ShutdownTimeout: 20 * time.Second}, log)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start server: %w", err)
	}
	in := &instance{Server: s, dir: dir, cancel: cancel, done: make(chan error, 1), client: httpClient(64), startup: time.Since(began)}
	go func() { in.done <- s.Run(runCtx) }()
	if err := in.waitAssigned(ctx, o.consumers, cfg.Kafka.Partitions); err != nil {
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

// tempDir makes a fresh directory under root for one run.
func tempDir(root, name string) (string, error) {
	d, err := os.MkdirTemp(root, name+"-")
	if err != nil {
		return "", fmt.Errorf("create run directory: %w", err)
	}
	return filepath.Clean(d), nil
}
