// Package server assembles one Pulse process from its parts: the embedded
// broker (unless a cluster is given), the store, the live bus and
// statistics, the consumer-group members, and the HTTP API with the
// WebSocket hub and the UI. `pulse serve` runs all of them; `pulse
// consume` runs the same assembly without HTTP. Tests start it in-process
// on free ports.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/sync/errgroup"

	"github.com/pulse-dev/pulse/internal/alerts"
	"github.com/pulse-dev/pulse/internal/api"
	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/broker"
	"github.com/pulse-dev/pulse/internal/collect"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/deadletter"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/load"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/oidc"
	"github.com/pulse-dev/pulse/internal/pipeline"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/sources"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/postgres"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// Options choose the roles of a process on top of its configuration.
type Options struct {
	// HTTP serves the API, the WebSocket and the UI on cfg.HTTP.Addr.
	HTTP bool
	// Broker is the embedded broker to start when
	// cfg.Kafka.BootstrapServers is empty; nil with an empty
	// BootstrapServers is an error.
	Broker *broker.Config
	// UI is the built dashboard; nil serves none.
	UI fs.FS
	// Pipeline overrides consumer tuning (retries, batching); its
	// Brokers, Topic, Group and ConsumerID are filled from cfg.Kafka.
	Pipeline pipeline.Config
	// ShutdownTimeout bounds the whole graceful shutdown (30 s).
	ShutdownTimeout time.Duration
	// Monitor tunes the group monitor (sampling intervals, marker
	// thresholds); its Group, Topic and ClientOpts are filled from
	// cfg.Kafka.
	Monitor monitor.Config
	// Auth tunes the accounts' sign-in (tests make hashing cheap).
	Auth auth.Options
	// Alerts tunes the alert rules' evaluation and deliveries (tests
	// shorten the backoff); its Interval is cfg.Alerts.Interval's.
	Alerts alerts.Config
}

// bus is what the process publishes live changes to and listens on: the
// in-process live.Bus or the Redis one.
type bus interface {
	Publish(event.Change)
	Subscribe(buf int) (<-chan event.Change, func())
	Gaps() uint64
}

// Server is one assembled Pulse process. Create it with New, run it with
// Run; everything New opened is closed when Run returns.
type Server struct {
	cfg  config.Config
	opts Options
	log  *slog.Logger
	reg  *prometheus.Registry

	broker *broker.Broker
	store  store.Store
	// rollupKeysChanged wakes the rollup keys' filler.
	rollupKeysChanged chan struct{}
	bus               bus
	redis             *live.RedisBus
	stats             *live.Stats
	follow            *live.Follower
	reconcile         *live.Reconciler
	hub               *live.Hub
	producer          *kafka.Producer
	admin             *kafka.Admin
	consumers         []*pipeline.Consumer
	monitor           *monitor.Group
	alertRules        []alerts.Rule
	alerts            *alerts.Service
	dlq               *deadletter.Service
	loads             *load.Runner
	sources           *sources.Registry
	plans             *plan.Registry
	collector         *collect.Collector
	httpLn            net.Listener
	http              *http.Server

	closeOnce sync.Once
}

// New opens every part the configuration asks for and binds the
// listeners, so Addr and BrokerAddr are known before Run. On error it
// closes what it opened.
func New(ctx context.Context, cfg config.Config, opts Options, log *slog.Logger) (s *Server, err error) {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s = &Server{cfg: cfg, opts: opts, log: log, reg: reg, rollupKeysChanged: make(chan struct{}, 1)}
	// Every error return sets s to nil, so the cleanup keeps its own copy.
	srv := s
	defer func() {
		if err != nil {
			srv.closeResources()
		}
	}()

	// A bad rules file refuses to start before anything is opened.
	if s.alertRules, err = alerts.LoadFile(cfg.Alerts.File); err != nil {
		return nil, err
	}
	if len(s.alertRules) > 0 {
		log.Info("alert rules loaded", "component", "alerts", "file", cfg.Alerts.File, "rules", len(s.alertRules))
	}

	if cfg.Kafka.BootstrapServers == "" {
		if opts.Broker == nil {
			return nil, errors.New("no --bootstrap-servers and no embedded broker")
		}
		if s.broker, err = broker.Start(ctx, *opts.Broker, log); err != nil {
			return nil, fmt.Errorf("start embedded broker: %w", err)
		}
		s.cfg.Kafka.BootstrapServers = s.broker.Addr()
	}

	if s.store, err = OpenStore(ctx, &s.cfg, log); err != nil {
		return nil, err
	}
	totals, err := s.store.Totals(ctx, time.Now().Add(-5*time.Minute))
	if err != nil {
		return nil, fmt.Errorf("rebuild statistics from the store: %w", err)
	}
	s.stats = live.NewStats(totals, time.Now)

	if s.cfg.Live.RedisURL != "" {
		if s.redis, err = live.NewRedisBus(ctx, s.cfg.Live.RedisURL, "pulse:"+s.cfg.Kafka.Topic+":changes", log, reg); err != nil {
			return nil, err
		}
		s.bus = s.redis
		log.Info("live updates shared through Redis", "component", "live", "redis", config.RedactURL(s.cfg.Live.RedisURL))
	} else {
		s.bus = live.NewBus(log, reg)
	}
	// Without consumers here and without Redis, no change reaches this
	// process: its statistics follow the store on a timer instead. With
	// Redis, they are rebuilt when the bus says changes were missed, and
	// once after start for what was stored between reading the totals
	// and subscribing.
	s.reconcile = live.NewReconciler(live.ReconcilerConfig{Always: s.cfg.Pipeline.Consumers <= 0 && s.redis == nil},
		s.stats, s.store, s.bus, log, reg)
	if s.redis != nil {
		s.reconcile.Trigger()
	}
	// The statistics follow the bus on their own, hub or not; the hub
	// listens to them, so what it sends is counted already.
	s.follow = live.NewFollower(s.bus, s.stats, log, reg)

	if s.admin, err = kafka.NewAdmin(s.cfg.Kafka, log, reg); err != nil {
		return nil, err
	}
	if err := s.admin.Ping(ctx); err != nil {
		return nil, fmt.Errorf("cannot reach Kafka at %s: %w", s.cfg.Kafka.BootstrapServers, err)
	}
	if err := s.ensureTopics(ctx); err != nil {
		return nil, err
	}

	if err := s.newConsumers(); err != nil {
		return nil, err
	}
	if err := s.checkStoreBehind(ctx); err != nil {
		return nil, err
	}
	if opts.HTTP {
		if err := s.newHTTP(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// OpenStore opens the backend cfg names; each store logs its own opening,
// with the password redacted.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	driver, dsn := cfg.Store.Database()
	dsn = cmp.Or(dsn, config.DefaultDatabaseURL(cfg.DataDir))
	// A failed Open returns a nil pointer, which must not become a non-nil
	// store.Store that the cleanup would then close.
	if driver == config.DriverPostgres {
		db, err := postgres.Open(ctx, dsn, postgres.Options{}, log)
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	db, err := sqlite.Open(ctx, dsn, sqlite.Options{}, log)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// ensureTopics creates the events and dead-letter topics when missing, so
// that a fresh cluster works like the embedded broker, and the control
// topic where rewinds of the running group are asked of its members (one
// partition: requests are few and read by every member).
func (s *Server) ensureTopics(ctx context.Context) error {
	created, err := s.admin.EnsureTopics(ctx, map[string]int32{
		s.cfg.Kafka.Topic:                     int32(s.cfg.Kafka.Partitions),
		s.cfg.Kafka.DLQTopic:                  int32(s.cfg.Kafka.Partitions),
		record.RewindTopic(s.cfg.Kafka.Topic): 1,
	}, int16(s.cfg.Kafka.ReplicationFactor))
	if err != nil {
		return fmt.Errorf("ensure topics %s and %s: %w", s.cfg.Kafka.Topic, s.cfg.Kafka.DLQTopic, err)
	}
	if len(created) > 0 {
		s.log.Info("topics created", "component", "kafka", "topics", created)
	}
	return nil
}

func (s *Server) newConsumers() error {
	if s.cfg.Pipeline.Consumers <= 0 {
		return nil
	}
	clientOpts, err := kafka.ClientOpts(s.cfg.Kafka)
	if err != nil {
		return err
	}
	metrics, err := pipeline.NewMetrics(s.reg)
	if err != nil {
		return err
	}
	id := s.cfg.Kafka.ConsumerID
	if id == "" {
		id = config.DefaultConsumerID()
	}
	for i := 1; i <= s.cfg.Pipeline.Consumers; i++ {
		pc := s.opts.Pipeline
		pc.Brokers = s.cfg.Kafka.Brokers()
		pc.ClientOpts = append(append([]kgo.Opt(nil), clientOpts...), kafka.LoggerOpt(s.log))
		pc.Topic, pc.DLQTopic, pc.Group = s.cfg.Kafka.Topic, s.cfg.Kafka.DLQTopic, s.cfg.Kafka.Group
		pc.ConsumerID = id
		if s.cfg.Pipeline.Consumers > 1 {
			pc.ConsumerID = fmt.Sprintf("%s-%d", id, i)
		}
		pc.IgnoreSimulation = pc.IgnoreSimulation || !s.cfg.Pipeline.Simulate
		// The configured backoff, unless the caller's options tune it.
		if pc.RetryBase <= 0 {
			pc.RetryBase = s.cfg.Pipeline.RetryBase
		}
		if pc.RetryMax <= 0 {
			pc.RetryMax = max(s.cfg.Pipeline.RetryMax, pc.RetryBase)
		}
		c, err := pipeline.New(pc, s.store, s.bus, metrics, s.log)
		if err != nil {
			return err
		}
		s.consumers = append(s.consumers, c)
	}
	return nil
}

func (s *Server) newHTTP(ctx context.Context) error {
	var err error
	if s.producer, err = kafka.NewProducer(kafka.ProducerConfig{Kafka: s.cfg.Kafka, Name: "ingest"}, s.log, s.reg); err != nil {
		return err
	}
	priv, err := privacy.Open(ctx, s.store)
	if err != nil {
		return err
	}
	s.hub = live.NewHub(live.HubConfig{
		AllowedOrigins:  s.cfg.HTTP.Origins(),
		MaxClients:      s.cfg.Live.WSMaxClients,
		MaxClientsPerIP: s.cfg.Live.WSMaxClientsPerIP,
		ClientIP:        api.ClientIP,
		Masking:         priv.Masker,
	}, s.follow, s.stats, s.store, s.log, s.reg)
	if err = s.newConsole(); err != nil {
		return err
	}
	if s.httpLn, err = net.Listen("tcp", s.cfg.HTTP.Addr); err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTP.Addr, err)
	}
	proxies := s.cfg.HTTP.Proxies()
	if s.cfg.HTTP.MaxConnsPerIP > 0 {
		s.httpLn = newPeerLimit(s.httpLn, s.cfg.HTTP.MaxConnsPerIP, func(ip netip.Addr) bool {
			for _, p := range proxies {
				if p.Contains(ip) {
					return true
				}
			}
			return false
		}, s.log.With("component", "http"))
	}
	clientOpts, err := kafka.ClientOpts(s.cfg.Kafka)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(s.httpLn.Addr().String())
	ip := net.ParseIP(host)
	deps := api.Deps{
		Producer:         ingest{s.producer},
		Store:            s.store,
		Series:           s.store,
		Stats:            s.stats,
		Hub:              s.hub,
		Consumers:        groupReport{s.monitor},
		KafkaHealth:      newKafkaProbe(clientOpts).Check,
		BootstrapServers: s.cfg.Kafka.BootstrapServers,
		Topic:            s.cfg.Kafka.Topic,
		Gatherer:         s.reg,
		UI:               s.opts.UI,
		Monitor:          s.monitor,
		Rewinder:         s.monitor,
		DeadLetters:      s.dlq,
		Load:             s.loads,
		Collector:        s.collector,
		SourceKeys:       s.sources,
		PlanRules:        s.plans,
		Sources:          s.store,
		Ledger:           s.store,
		Plan:             s.store,
		Insights:         insights.New(s.store),
		Saved:            s.store,
		Alerts:           s.alerts,
		Users:            s.store,
		RollupKeys:       s.store,
		Audit:            s.store,
		Privacy:          priv,
		Erased:           s.reconcile.Trigger,
		RollupKeysChanged: func() {
			select {
			case s.rollupKeysChanged <- struct{}{}:
			default: // a fill is due already
			}
		},
	}
	// The store serves the event explorer, and erasure, which reads a
	// user's events, when it implements it (both stores do).
	if ex, ok := s.store.(api.Explorer); ok {
		deps.Explorer = ex
	}
	if er, ok := s.store.(privacy.EraseStore); ok {
		deps.Erasure = er
	}
	if deps.Auth, err = auth.New(s.store, s.opts.Auth, s.log); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if s.cfg.OIDC.Enabled() {
		if deps.OIDC, err = s.newOIDC(ctx); err != nil {
			return err
		}
	}
	srv := api.New(api.Config{
		AllowedOrigins: s.cfg.HTTP.Origins(),
		AllowedHosts:   append(listenHosts(ip), s.cfg.HTTP.Origins()...),
		TrustedProxies: proxies,
		AdminToken:     s.cfg.HTTP.AdminToken,
		IngestRate:     float64(s.cfg.HTTP.IngestRate),
		Loopback:       ip != nil && ip.IsLoopback(),
		AuthRequired:   s.cfg.HTTP.Auth == config.AuthRequired,
		MetricsToken:   s.cfg.HTTP.MetricsToken,

		CollectClientRate: float64(s.cfg.HTTP.CollectClientRate),
		CollectKeyRate:    float64(s.cfg.HTTP.CollectKeyRate),
		TrackerPath:       s.cfg.HTTP.TrackerPath,
	}, deps, s.log, s.reg)
	s.http = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// listenHosts are the Host headers a server listening on ip answers
// besides loopback names and ALLOWED_HOSTS: the address itself, and on a
// wildcard address every address of this machine's interfaces (so that a
// probe on the pod's address reaches /api/health/). An IP address is no
// door to DNS rebinding: a page can only send the name it was loaded
// from.
func listenHosts(ip net.IP) []string {
	if ip == nil {
		return nil
	}
	if !ip.IsUnspecified() {
		return []string{hostEntry(ip)}
	}
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, hostEntry(n.IP))
		}
	}
	return out
}

func hostEntry(ip net.IP) string {
	if ip.To4() == nil {
		return "[" + ip.String() + "]"
	}
	return ip.String()
}

// newConsole builds the operator console's owners over this process's
// members, producer and statistics: the group monitor, the dead-letter
// service and the load runner.
func (s *Server) newConsole() error {
	clientOpts, err := kafka.ClientOpts(s.cfg.Kafka)
	if err != nil {
		return err
	}
	clientOpts = append(clientOpts, kafka.LoggerOpt(s.log))
	mc := s.opts.Monitor
	mc.Group, mc.Topic, mc.ClientOpts = s.cfg.Kafka.Group, s.cfg.Kafka.Topic, clientOpts
	members := make([]monitor.Member, len(s.consumers))
	for i, c := range s.consumers {
		members[i] = c
	}
	if s.monitor, err = monitor.New(mc, monitor.Deps{
		Admin: s.admin, History: s.store, Members: members, Stats: s.stats, Store: s.store, Bus: s.bus,
	}, s.log, s.reg); err != nil {
		return fmt.Errorf("group monitor: %w", err)
	}
	dc := deadletter.Config{Topic: s.cfg.Kafka.Topic, DLQTopic: s.cfg.Kafka.DLQTopic, ClientOpts: clientOpts, Replays: s.store}
	if s.dlq, err = deadletter.New(dc, s.admin, s.producer, s.log, s.reg); err != nil {
		return fmt.Errorf("dead-letter service: %w", err)
	}
	if s.loads, err = load.New(s.producer, s.log, s.reg); err != nil {
		return fmt.Errorf("load runner: %w", err)
	}
	s.sources = sources.NewRegistry(s.store, s.log)
	if err := s.sources.Load(context.Background()); err != nil {
		// The registry keeps trying; the collector answers 503 until then.
		s.log.Warn("reading the sources failed", "component", "sources", "err", err)
	}
	s.plans = plan.NewRegistry(s.store, s.log)
	if err := s.plans.Load(context.Background()); err != nil {
		// As the sources: sources holding their events to the plan are
		// answered 503 until it is read.
		s.log.Warn("reading the tracking plan failed", "component", "plan", "err", err)
	}
	s.collector = collect.New(s.producer, s.store, s.plans, s.log, s.reg)
	if err := s.reg.Register(collect.NewLedgerMetrics(s.store, s.log)); err != nil {
		return fmt.Errorf("ledger metrics: %w", err)
	}
	ac := s.opts.Alerts
	ac.Interval = s.cfg.Alerts.Interval
	ac.AllowNet = s.cfg.Alerts.AllowedNets()
	if s.alerts, err = alerts.New(ac, alerts.Deps{Store: s.store, Group: s.monitor, Markers: s.store, Bus: s.bus,
		FileRules: s.alertRules}, s.log, s.reg); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	return nil
}

// Addr is the HTTP address, with the real port; empty without HTTP.
func (s *Server) Addr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// BrokerAddr is the Kafka bootstrap address in use.
func (s *Server) BrokerAddr() string { return s.cfg.Kafka.BootstrapServers }

// Registry is the process's Prometheus registry.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Run runs every part until ctx is cancelled or one of them fails, then
// shuts down in order: stop taking input (HTTP, fetching), let the
// consumers drain, flush and commit, flush the producer, close the hub,
// the bus, the store and the broker.
func (s *Server) Run(ctx context.Context) error {
	defer s.closeResources()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.follow.Run(gctx) })
	if s.http != nil {
		s.log.Info("HTTP API, WebSocket and UI listening", "component", "http", "addr", s.Addr(), "url", "http://"+s.Addr()+"/")
		g.Go(func() error {
			if err := s.http.Serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
			defer cancel()
			// Shutdown does not wait for hijacked WebSocket connections;
			// the hub closes those when its context ends.
			return s.http.Shutdown(sctx)
		})
		g.Go(func() error { return s.hub.Run(gctx) })
		g.Go(func() error { return s.monitor.Run(gctx) })
		g.Go(func() error { return s.alerts.Run(gctx) })
		g.Go(func() error { return s.dlq.Run(gctx) })
		g.Go(func() error { return s.loads.Run(gctx) })
		g.Go(func() error { return s.reconcile.Run(gctx) })
		g.Go(func() error { s.sources.Run(gctx); return nil })
		g.Go(func() error { s.plans.Run(gctx); return nil })
		g.Go(func() error { s.collector.Run(gctx); return nil })
	}
	for _, c := range s.consumers {
		g.Go(func() error { return c.Run(gctx) })
	}
	if len(s.consumers) > 0 {
		s.log.Info("consumer group members started", "component", "pipeline",
			"group", s.cfg.Kafka.Group, "topic", s.cfg.Kafka.Topic, "members", len(s.consumers))
	}
	// Retention runs whatever the policy: the charts' series are trimmed
	// to series.Keep.
	r := store.Retention{MaxAge: s.cfg.Store.RetentionMaxAge, MaxRows: s.cfg.Store.RetentionMaxRows}
	g.Go(func() error { return s.retain(gctx, r) })
	g.Go(func() error { s.fillRollupKeys(gctx); return nil })
	err := g.Wait()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// fillPause is the rest between two steps of the rollup keys' filler: a
// step holds SQLite's one writer for tens of milliseconds, and the
// batches go between.
const fillPause = 50 * time.Millisecond

// fillRollupKeys runs the rollup keys' background work until ctx ends:
// counting the events stored before a key was added, and deleting a
// removed key's rows (store.RollupKeys). It runs at start, when a key is
// added or removed here, and every minute for keys another server on the
// same database changed.
func (s *Server) fillRollupKeys(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		steps := 0
		for {
			more, err := s.store.FillRollupKeys(ctx, store.FillChunk)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("filling the rollups of the kept property keys failed", "component", "store", "err", err)
				}
				break
			}
			if !more {
				break
			}
			steps++
			select {
			case <-ctx.Done():
				return
			case <-time.After(fillPause):
			}
		}
		if steps > 0 {
			s.log.Info("rollups of the kept property keys up to date", "component", "store", "steps", steps)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.rollupKeysChanged:
		}
	}
}

// retain applies the retention policy and the sources' own (and trims
// the series, deletes the expired sessions and the audit entries past
// their own retention) once a minute, then has the statistics rebuilt
// when either deleted events.
func (s *Server) retain(ctx context.Context, r store.Retention) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n, err := s.store.DeleteExpiredSessions(ctx, time.Now()); err != nil {
			s.log.Warn("delete expired sessions", "component", "store", "err", err)
		} else if n > 0 {
			s.log.Debug("deleted expired sessions", "component", "store", "sessions", n)
		}
		if keep := s.cfg.Store.AuditRetention; keep > 0 {
			if n, err := s.store.RetainAudit(ctx, time.Now().Add(-keep)); err != nil {
				s.log.Warn("audit log retention failed", "component", "store", "err", err)
			} else if n > 0 {
				s.log.Info("audit log retention deleted old entries", "component", "store", "entries", n)
			}
		}
		n, err := s.store.Retain(ctx, r)
		if err != nil {
			s.log.Warn("retention failed", "component", "store", "err", err)
		} else if n > 0 {
			s.log.Info("retention deleted old events", "component", "store", "events", n)
		}
		m, err := s.retainSources(ctx, r.MaxAge)
		if err != nil {
			s.log.Warn("source retention failed", "component", "store", "err", err)
		}
		if n+m > 0 {
			s.reconcile.Trigger()
		}
	}
}

// retainSources applies the sources' own retention (revoked sources'
// too: their events stay until it or the server-wide one ends them). A
// source's retention only shortens the server-wide one: one as long or
// longer (than --retention-max-age) has nothing left to delete, and is
// not walked.
func (s *Server) retainSources(ctx context.Context, global time.Duration) (int64, error) {
	all, err := s.store.Sources(ctx)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	before := map[string]time.Time{}
	for _, src := range all {
		keep := time.Duration(src.Settings.Retention)
		if keep > 0 && (global <= 0 || keep < global) {
			before[src.ID] = now.Add(-keep)
		}
	}
	if len(before) == 0 {
		return 0, nil
	}
	n, err := s.store.RetainSources(ctx, before)
	if n > 0 {
		s.log.Info("source retention deleted old events", "component", "store", "events", n, "sources", len(before))
	}
	return n, err
}

// closeResources closes what New opened, in dependency order. Consumers
// have stopped by now: they close their own clients when Run returns.
func (s *Server) closeResources() {
	s.closeOnce.Do(func() {
		if s.producer != nil {
			s.producer.Close() // logs what it flushed
		}
		if s.httpLn != nil {
			s.httpLn.Close() // already closed after Serve; needed when Run never ran
		}
		if s.admin != nil {
			s.admin.Close()
		}
		if s.redis != nil {
			if err := s.redis.Close(); err != nil {
				s.log.Warn("close redis bus", "component", "live", "err", err)
			}
		}
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				s.log.Warn("close store", "component", "store", "err", err)
			}
		}
		if s.broker != nil {
			s.broker.Close()
		}
		s.log.Info("shutdown complete")
	})
}

// newOIDC is the OpenID sign-in's client. It asks the provider once at
// start so that a wrong issuer shows in the log at once; a provider that
// does not answer is asked again at each sign-in, and does not keep the
// server from starting (passwords and tokens still work).
func (s *Server) newOIDC(ctx context.Context) (*oidc.Client, error) {
	o := s.cfg.OIDC
	roles := map[string]auth.Role{}
	for _, r := range o.RoleRules() {
		role, err := auth.ParseRole(r.Role)
		if err != nil {
			return nil, fmt.Errorf("--oidc-role-map: %w", err)
		}
		roles[r.Value] = max(roles[r.Value], role)
	}
	c, err := oidc.New(oidc.Config{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL,
		Name: o.Name, Scopes: o.ScopeList(), RolesClaim: o.RolesClaim, Roles: roles}, s.log)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Discover(dctx); err != nil {
		s.log.Error("OpenID provider not reached: sign-in through it fails until it answers", "component", "oidc", "issuer", o.Issuer, "err", err)
	} else {
		s.log.Info("sign-in through OpenID provider", "component", "oidc", "issuer", o.Issuer, "name", c.Name())
	}
	return c, nil
}
