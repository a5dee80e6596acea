// Package api serves Pulse's HTTP API (docs/api.md): ingest into Kafka,
// the dashboard's reads, health and metrics, the WebSocket endpoint and
// the embedded web UI.
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/oidc"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/ratelimit"
	"github.com/pulse-dev/pulse/internal/store"
)

// Ack is where Kafka stored a produced record.
type Ack struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Producer sends validated events to Kafka. Produce returns once the
// broker acknowledged the record; ProduceBatch once it acknowledged all of
// them. Both carry src and requestID in the record headers.
type Producer interface {
	Produce(ctx context.Context, e *event.Event, src event.Source, requestID string) (Ack, error)
	ProduceBatch(ctx context.Context, events []*event.Event, src event.Source, requestID string) error
}

// Reader is what the API reads from the store.
type Reader interface {
	LatestEvents(ctx context.Context, limit int) ([]event.Stored, error)
	Messages(ctx context.Context, f store.MessageFilter) ([]event.Message, error)
	Ping(ctx context.Context) error
}

// Consumers reports on the consumer group.
type Consumers interface {
	ConsumerMetrics(ctx context.Context) (ConsumerMetrics, error)
}

// ConsumerMetrics is the answer of GET /api/consumer_metrics/.
type ConsumerMetrics struct {
	Group      string          `json:"group"`
	Topic      string          `json:"topic"`
	Consumers  []ConsumerStats `json:"consumers"`
	Partitions []PartitionLag  `json:"partitions"`
	TotalLag   int64           `json:"total_lag"`
}

// ConsumerStats describes one member of the consumer group.
type ConsumerStats struct {
	ConsumerID          string     `json:"consumer_id"`
	Partitions          []int32    `json:"partitions"`
	Processed           int64      `json:"processed"`
	Failed              int64      `json:"failed"`
	Retried             int64      `json:"retried"`
	DeadLettered        int64      `json:"dead_lettered"`
	AvgProcessingTimeMS float64    `json:"avg_processing_time_ms"`
	InFlight            int        `json:"in_flight"`
	LastCommitAt        *time.Time `json:"last_commit_at"`
}

// PartitionLag is the consumer group's position on one partition.
type PartitionLag struct {
	Partition       int32 `json:"partition"`
	CommittedOffset int64 `json:"committed_offset"`
	EndOffset       int64 `json:"end_offset"`
	Lag             int64 `json:"lag"`
}

// Config tunes the server.
type Config struct {
	// AllowedOrigins may call the API from a browser (CORS), as origins
	// ("https://dash.example.com") or host patterns ("*.example.com").
	// Loopback origins are always allowed.
	AllowedOrigins []string
	// AllowedHosts are the Host headers the server answers (ALLOWED_HOSTS
	// semantics, see hostPolicy); loopback names are always allowed.
	// Others get 400 before any handler runs.
	AllowedHosts []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For,
	// Forwarded and X-Real-IP headers name the client (see ClientIP).
	// Empty: none, the peer is the client.
	TrustedProxies []netip.Prefix
	// IngestRate is the sustained ingest requests per second allowed per
	// client IP, IngestBurst the bucket size (default: 2×rate, at least
	// 1). Zero rate disables the limit.
	IngestRate  float64
	IngestBurst int
	// AdminToken is a Bearer token with the admin role: for scripts, and
	// to reach a server beyond loopback before any account exists.
	AdminToken string
	// Loopback says the server listens on loopback only. With
	// AuthRequired false, it then serves requests straight from this
	// machine without credentials until the first account exists.
	Loopback     bool
	AuthRequired bool
	// MetricsToken is a Bearer token that reads /metrics when sign-in is
	// needed (for scrapers); an operator's credentials read it too.
	MetricsToken string
	// ProduceTimeout bounds waiting for Kafka's acknowledgement (10 s).
	ProduceTimeout time.Duration
	// BodyReadTimeout bounds the arrival of a request body, whole (10 s: a
	// 4 MiB batch needs 3.4 Mbit/s).
	BodyReadTimeout time.Duration
	// ExportWriteTimeout bounds how long an export's client may take to
	// accept each chunk (30 s): one that stops reading is cut off rather
	// than holding the handler and its connection for good.
	ExportWriteTimeout time.Duration
	// CollectClientRate is the POST /api/collect requests per second
	// allowed per client IP, CollectKeyRate per source (bursts of twice
	// that); zero disables the limit.
	CollectClientRate float64
	CollectKeyRate    float64
	// TrackerPath is where pulse.js is served (DefaultTrackerPath).
	TrackerPath string
}

// Deps are the parts the API talks to. Producer, Store and Stats are
// required; a nil Hub, Consumers, KafkaHealth, Gatherer or UI disables
// what needs it.
type Deps struct {
	Producer    Producer
	Store       Reader
	Stats       *live.Stats
	Hub         *live.Hub
	Consumers   Consumers
	KafkaHealth func(ctx context.Context) error
	// BootstrapServers and Topic are reported by /api/health/.
	BootstrapServers string
	Topic            string
	Gatherer         prometheus.Gatherer
	// UI is the built web app (index.html, assets/...).
	UI fs.FS
	// Series serves the charts' history; nil disables GET /api/series/.
	Series SeriesReader
	// Explorer serves the event explorer, export and message timelines;
	// nil disables those routes.
	Explorer Explorer
	// Monitor serves the console's consumers, lag history and ordering
	// views; nil disables those routes.
	Monitor GroupMonitor
	// Rewinder rewinds the consumer group and tells the message
	// timeline of rewinds; nil disables POST /api/consumers/rewind/.
	Rewinder Rewinder
	// DeadLetters serves dead-letter listing and replay; nil disables
	// those routes.
	DeadLetters DeadLetters
	// Load serves generated load runs; nil disables those routes.
	Load LoadRuns
	// Collector and SourceKeys serve POST /api/collect; Sources the
	// sources' routes; Ledger the delivery ledger. Nil disables them.
	Collector  Collector
	SourceKeys SourceKeys
	Sources    SourceStore
	Ledger     LedgerReader
	// Plan serves the tracking plan and its warnings; PlanRules is the
	// collector's copy, reloaded on a change. Nil Plan disables them.
	Plan      PlanStore
	PlanRules PlanRules
	// Insights serves the insights' routes; nil disables them.
	Insights Insights
	// Saved keeps the saved insights; nil disables their routes.
	Saved store.SavedInsights
	// Alerts manages the alert rules and their history; nil disables
	// their routes.
	Alerts Alerts
	// Users serves the users' pages; nil disables their route.
	Users Users
	// RollupKeys manages the property keys kept in the rollups; nil
	// disables their routes. RollupKeysChanged, when set, is told of an
	// added or removed key (it wakes the filler).
	RollupKeys        RollupKeys
	RollupKeysChanged func()
	// Auth signs accounts in and reads sessions and API tokens; nil
	// leaves only the open server and the admin token.
	Auth *auth.Service
	// OIDC signs accounts in through an OpenID provider; nil: email and
	// password only. It needs Auth.
	OIDC *oidc.Client
	// Audit records sign-ins and changes, and serves the audit log's
	// routes; nil records nothing.
	Audit store.Audit
	// Privacy keeps the declaration of personal fields, masked for every
	// reader below admin; nil masks nothing (a server without accounts).
	Privacy *privacy.Service
	// Erasure erases users and lists the erased; nil disables its
	// routes. Erased, when set, is told of an erasure (the live
	// statistics are rebuilt from the store).
	Erasure privacy.EraseStore
	Erased  func()
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics *httpMetrics
	limiter *ratelimit.Keyed
	// collectClients and collectKeys limit the collector per client IP
	// and per source.
	collectClients *ratelimit.Keyed
	collectKeys    *ratelimit.Keyed
	tracker        *tracker
	origins        []string
	hosts          hostPolicy
	proxies        proxies
	handler        http.Handler
	// rules are the API routes and the role each needs.
	rules []routeRule
}

// routeRule is a route and the role it needs.
type routeRule struct {
	Method, Path string
	Need         auth.Role
}

// routeFunc registers an API route: its method, path (with the trailing
// slash), the role it needs and its handler.
type routeFunc func(method, path string, need auth.Role, h http.Handler)

// New returns a server; Handler serves it.
func New(cfg Config, deps Deps, log *slog.Logger, reg prometheus.Registerer) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ProduceTimeout <= 0 {
		cfg.ProduceTimeout = 10 * time.Second
	}
	if cfg.ExportWriteTimeout <= 0 {
		cfg.ExportWriteTimeout = 30 * time.Second
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = 10 * time.Second
	}
	s := &Server{
		cfg:     cfg,
		deps:    deps,
		log:     log.With("component", "api"),
		metrics: newHTTPMetrics(reg),
		origins: append(append([]string(nil), loopbackOrigins...), cfg.AllowedOrigins...),
		hosts:   newHostPolicy(cfg.AllowedHosts),
		proxies: proxies(cfg.TrustedProxies),
	}
	if cfg.IngestRate > 0 {
		burst := cfg.IngestBurst
		if burst <= 0 {
			burst = max(1, int(2*cfg.IngestRate))
		}
		s.limiter = ratelimit.New(cfg.IngestRate, burst, time.Now)
	}
	if cfg.CollectClientRate > 0 {
		s.collectClients = ratelimit.New(cfg.CollectClientRate, max(1, int(2*cfg.CollectClientRate)), time.Now)
	}
	if cfg.CollectKeyRate > 0 {
		s.collectKeys = ratelimit.New(cfg.CollectKeyRate, max(1, int(2*cfg.CollectKeyRate)), time.Now)
	}
	if s.cfg.TrackerPath == "" {
		s.cfg.TrackerPath = DefaultTrackerPath
	}
	s.tracker = loadTracker(deps.UI, s.cfg.TrackerPath)
	s.handler = s.routes()
	return s
}

// Handler returns the server's HTTP handler with its middleware.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// allowed collects the methods of each pattern, so that every other
	// method gets a 405 that says which are allowed (the mux would send
	// a GET on a POST-only route to the UI's catch-all instead).
	allowed := map[string][]string{}
	var patterns []string
	handlePattern := func(method, pattern string, h http.Handler) {
		mux.Handle(method+" "+pattern, h)
		if allowed[pattern] == nil {
			patterns = append(patterns, pattern)
		}
		allowed[pattern] = append(allowed[pattern], method)
	}
	// Each API path answers with and without its trailing slash; "{$}"
	// keeps the slashed pattern from matching the whole subtree. Every
	// route names the role it needs (the route walk test holds each to
	// the table of docs/accounts.md).
	handle := func(method, path string, need auth.Role, h http.Handler) {
		s.rules = append(s.rules, routeRule{Method: method, Path: path, Need: need})
		h = s.audit(method, path, s.guard(need, h))
		handlePattern(method, path+"{$}", h)
		handlePattern(method, path[:len(path)-1], h)
	}
	ingest := func(h handlerFunc) http.Handler { return s.rateLimit(s.wrap(h)) }
	handle("GET", "/api/events/latest/", auth.Viewer, s.wrap(s.latestEvents))
	handle("POST", "/api/events/create/", auth.Operator, ingest(s.createEvent))
	handle("POST", "/api/events/batch/", auth.Operator, ingest(s.batchEvents))
	handle("GET", "/api/queue/messages/", auth.Viewer, s.wrap(s.queueMessages))
	handle("GET", "/api/queue/stats/", auth.Viewer, s.wrap(s.queueStats))
	handle("GET", "/api/health/", auth.Public, s.wrap(s.health))
	handle("GET", "/api/metrics/", auth.Viewer, s.wrap(s.metricsJSON))
	handle("GET", "/api/consumer_metrics/", auth.Viewer, s.wrap(s.consumerMetrics))
	if s.deps.Series != nil {
		handle("GET", "/api/series/", auth.Viewer, s.wrap(s.eventSeries))
	}
	if s.deps.Gatherer != nil {
		handlePattern("GET", "/metrics", s.metricsGuard(promhttpHandler(s.deps.Gatherer)))
	}
	if s.deps.Hub != nil {
		handle("GET", "/ws/events/", auth.Viewer, s.recheckSocket(auth.Viewer, s.deps.Hub))
	}
	// The operator console's routes, each group in its own file.
	s.explorerRoutes(handle)
	s.opsRoutes(handle)
	s.rewindRoutes(handle)
	s.collectRoutes(handle)
	s.sourceRoutes(handle, handlePattern)
	s.planRoutes(handle)
	s.insightRoutes(handle)
	s.userRoutes(handle)
	s.savedRoutes(handle)
	s.alertRoutes(handle)
	s.rollupKeyRoutes(handle)
	s.authRoutes(handle)
	s.auditRoutes(handle)
	s.privacyRoutes(handle)
	for _, p := range patterns {
		// A pattern without a method matches what the ones with methods
		// leave: the other methods.
		mux.Handle(p, s.methodNotAllowed(allowed[p]))
	}
	// Any other path under /api/ is an unknown endpoint, whatever the
	// method; the UI takes the rest.
	notFound := s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return Errorf(ENotFound, "no such endpoint: %s", r.URL.Path)
	})
	mux.Handle("/api/", notFound)
	mux.Handle("/api", notFound)
	mux.Handle("/", s.ui())

	var h http.Handler = jsonMuxErrors(mux)
	h = s.boundBodyRead(h)
	h = s.cors(h)
	h = s.accessLog(h)
	h = s.metrics.middleware(h)
	h = securityHeaders(h)
	h = s.recoverPanics(h)
	h = requestIDs(h)
	h = s.resolveClient(h)
	h = s.checkHost(h)
	return h
}

// methodNotAllowed answers 405 with the Allow header listing methods (and
// HEAD with GET, which the mux serves with it).
func (s *Server) methodNotAllowed(methods []string) http.Handler {
	var allow []string
	for _, m := range methods {
		allow = append(allow, m)
		if m == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	slices.Sort(allow)
	list := strings.Join(allow, ", ")
	return s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", list)
		return Errorf(EMethod, "method %s not allowed on %s; allowed: %s", r.Method, r.URL.Path, list)
	})
}

// handlerFunc is an API handler that returns its error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	})
}
