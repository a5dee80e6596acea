package live

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/metrics"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/store"
)

// Reader is what the hub reads from the store to greet a client.
type Reader interface {
	LatestEvents(ctx context.Context, limit int) ([]event.Stored, error)
	Messages(ctx context.Context, f store.MessageFilter) ([]event.Message, error)
}

// Subscriber is a source of changes: the bus, or the statistics'
// Follower, which passes the bus's changes on once it has applied them.
type Subscriber interface {
	Subscribe(buf int) (<-chan event.Change, func())
}

// HubConfig tunes the hub. Zero fields take the defaults shown.
type HubConfig struct {
	// AllowedOrigins lists extra origins that may open a WebSocket, as
	// host patterns ("dash.example.com", "*.example.com") or, with a
	// scheme, origin patterns ("https://dash.example.com"). The server's
	// own host and loopback origins are always allowed.
	AllowedOrigins []string
	// InitialEvents and InitialMessages size initial_data (50 each).
	InitialEvents   int
	InitialMessages int
	// SendQueue is the number of frames a client may have waiting (64).
	SendQueue int
	// FlushInterval is the batching period of events and queue updates
	// (50 ms, at most 20 frames a second; a change after a quiet period is
	// sent at once); StatsInterval the least time between stats_update frames
	// (500 ms).
	FlushInterval time.Duration
	StatsInterval time.Duration
	// BusyFlushInterval spaces flushes instead of FlushInterval while
	// events arrive faster than one frame carries (250 ms; a pause of half
	// of it in the changes flushes at once): a dashboard
	// cannot show more, and a thousand clients then cost four frames a
	// second each, not twenty. The newest events still go out, so their
	// latency is the pipeline's; the rest are counted as sampled.
	BusyFlushInterval time.Duration
	// WriteTimeout bounds one frame's write (5 s); a client that takes
	// longer is disconnected.
	WriteTimeout time.Duration
	// ResyncCooldown: a client that falls behind again within this time
	// of its last resync is disconnected with 1008 (10 s).
	ResyncCooldown time.Duration
	// BusBuffer is the hub's subscription buffer (8192 changes).
	BusBuffer int

	// MaxClients caps the connected clients (2000) and MaxClientsPerIP
	// those of one client address (64); past them the upgrade is refused
	// with 503 or 429, so one client cannot take every descriptor.
	MaxClients      int
	MaxClientsPerIP int
	// ClientIP names the client of a request for MaxClientsPerIP and the
	// logs (default: the peer's address). Behind a trusted proxy, the
	// server passes the client the proxy forwarded for.
	ClientIP func(*http.Request) string
	// MessageReadTimeout bounds the reading of one client message once
	// it has begun (10 s): a frame header announcing a huge payload and
	// then silence no longer holds the connection. Waiting for the next
	// message is not bounded; the keepalive below is.
	MessageReadTimeout time.Duration
	// PingInterval spaces pings (30 s); a client that has not answered
	// one within PongTimeout (10 s) is dropped as dead.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// RecheckInterval spaces the checks that a client may still read the
	// socket (10 s; see WithRecheck).
	RecheckInterval time.Duration
	// Masking returns the masking in force for the clients that may not
	// see personal values (see WithMasked); nil sends such clients no
	// events or messages at all.
	Masking func() *privacy.Masker
}

func (c *HubConfig) defaults() {
	setDefault := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setDefault(&c.InitialEvents, 50)
	setDefault(&c.InitialMessages, 50)
	setDefault(&c.SendQueue, 64)
	setDefault(&c.BusBuffer, 8192)
	setDur(&c.FlushInterval, 50*time.Millisecond)
	setDur(&c.StatsInterval, 500*time.Millisecond)
	setDur(&c.BusyFlushInterval, 250*time.Millisecond)
	setDur(&c.WriteTimeout, 5*time.Second)
	setDur(&c.ResyncCooldown, 10*time.Second)
	setDefault(&c.MaxClients, 2000)
	setDefault(&c.MaxClientsPerIP, 64)
	setDur(&c.MessageReadTimeout, 10*time.Second)
	setDur(&c.PingInterval, 30*time.Second)
	setDur(&c.PongTimeout, 10*time.Second)
	setDur(&c.RecheckInterval, 10*time.Second)
	if c.ClientIP == nil {
		c.ClientIP = peerIP
	}
}

// peerIP is the address at the other end of r's connection.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

const (
	// maxSingleEvents is the most events a flush sends as new_event frames;
	// more are batched into one new_events frame.
	maxSingleEvents = 20
	// maxOpenMessages bounds the ids the hub remembers as shown in a
	// non-final state (delayed or retrying records; few at a time).
	maxOpenMessages = 10000
)

// loopbackOrigins are always allowed to connect. Brackets are escaped
// because the patterns go through path.Match.
var loopbackOrigins = []string{
	"localhost", "localhost:*",
	"127.0.0.1", "127.0.0.1:*",
	`\[::1\]`, `\[::1\]:*`,
}

// Hub serves /ws/events/: it pushes the changes it is fed and the
// statistics, batched, to every connected dashboard. It only reads the
// statistics; their Follower keeps them. A client that cannot keep up is
// resynced or disconnected; it never slows the others or the bus.
type Hub struct {
	cfg     HubConfig
	stats   *Stats
	reader  Reader
	log     *slog.Logger
	origins []string

	clientsGauge prometheus.Gauge
	framesSent   *prometheus.CounterVec
	framesDrop   prometheus.Counter
	sampled      prometheus.Counter
	resyncs      prometheus.Counter
	disconnects  *prometheus.CounterVec
	refused      prometheus.Counter
	overCap      *prometheus.CounterVec

	changes     <-chan event.Change
	unsubscribe func()

	// open holds the ids of messages clients were shown in a non-final
	// state; only Run uses it.
	open map[string]struct{}

	mu      sync.Mutex
	clients map[*client]struct{}
	// masked counts the clients that may not see personal values.
	masked int
	// admitted counts the connections holding a slot of MaxClients, perIP
	// those of each client address; a slot is taken before the upgrade.
	admitted int
	perIP    map[string]int
	closed   bool
	wg       sync.WaitGroup
}

// NewHub returns a hub subscribed to bus, showing stats and greeting
// clients from reader. The subscription starts here, so no change
// published after NewHub is missed; Run must be running for updates to
// flow.
//
// The hub does not apply changes to stats. For the statistics it sends to
// count every event it has sent, bus must be the Follower of those stats
// (which hands on a change only once it has applied it), not the bus the
// Follower listens to: see Follower.
func NewHub(cfg HubConfig, bus Subscriber, stats *Stats, reader Reader, log *slog.Logger, reg prometheus.Registerer) *Hub {
	cfg.defaults()
	changes, unsubscribe := bus.Subscribe(cfg.BusBuffer)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	origins := append(append([]string(nil), loopbackOrigins...), cfg.AllowedOrigins...)
	h := &Hub{
		cfg:         cfg,
		changes:     changes,
		unsubscribe: unsubscribe,
		stats:       stats,
		reader:      reader,
		log:         log.With("component", "ws_hub"),
		origins:     origins,
		clientsGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pulse_ws_clients", Help: "Connected WebSocket clients.",
		}),
		framesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ws_frames_sent_total", Help: "WebSocket frames sent, by message type.",
		}, []string{"type"}),
		framesDrop: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_ws_frames_dropped_total", Help: "Frames not queued for a client because its send queue was full.",
		}),
		sampled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_ws_events_sampled_out_total", Help: "Events left out of new_events frames (counted in their dropped field).",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_ws_resyncs_total", Help: "Fresh initial_data frames sent to clients that fell behind.",
		}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ws_disconnects_total", Help: "WebSocket clients disconnected, by reason.",
		}, []string{"reason"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_ws_refused_total", Help: "WebSocket handshakes refused (origin not allowed, bad request).",
		}),
		overCap: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_ws_over_capacity_total", Help: "WebSocket upgrades refused by a connection cap, by cap (per_client, total).",
		}, []string{"cap"}),
		clients: make(map[*client]struct{}),
		perIP:   make(map[string]int),
	}
	// A collector reg refuses (a clashing description) still counts,
	// unexported.
	_ = metrics.Register(reg, &h.clientsGauge)
	_ = metrics.Register(reg, &h.framesSent)
	_ = metrics.Register(reg, &h.framesDrop)
	_ = metrics.Register(reg, &h.sampled)
	_ = metrics.Register(reg, &h.resyncs)
	_ = metrics.Register(reg, &h.disconnects)
	_ = metrics.Register(reg, &h.refused)
	_ = metrics.Register(reg, &h.overCap)
	return h
}

// Clients returns the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Run consumes the bus until ctx ends, then closes every client with 1001
// (going away) and waits for their connections to end.
func (h *Hub) Run(ctx context.Context) error {
	defer h.unsubscribe()
	changes := h.changes
	// Flushes are throttled on the leading edge: a change that arrives when
	// the last flush is at least FlushInterval old goes out at once (a lone
	// click reaches dashboards without waiting for a tick); changes that
	// arrive sooner wait for the rest of the interval and go out together.
	//
	// While busy (BusyFlushInterval), a flush also goes out once changes
	// pause for half of it: when a burst ends, its last events are not
	// held for the rest of the long interval. Half, not FlushInterval:
	// under load the commits that publish changes come in bursts, and a
	// short pause timer turned their gaps into extra frames for every
	// client (75% more with 1,000 clients, slowing the pipeline itself).
	flushT := time.NewTimer(time.Hour)
	flushT.Stop()
	defer flushT.Stop()
	quietT := time.NewTimer(time.Hour)
	quietT.Stop()
	defer quietT.Stop()
	armed := false
	var lastFlush time.Time
	interval := h.cfg.FlushInterval
	flush := func(p *pending) {
		flushT.Stop()
		quietT.Stop()
		armed = false
		if h.flush(p) {
			interval = h.cfg.BusyFlushInterval
		} else {
			interval = h.cfg.FlushInterval
		}
		lastFlush = time.Now()
	}
	statsT := time.NewTicker(h.cfg.StatsInterval)
	defer statsT.Stop()

	p := pending{keep: h.isOpen}
	var (
		sentVersion uint64
		sentRate    float64
		sentRecent  int64
	)
	for {
		select {
		case <-ctx.Done():
			h.shutdown()
			return nil
		case c, ok := <-changes:
			if !ok {
				h.shutdown()
				return nil
			}
			p.add(c)
			if armed {
				if interval > h.cfg.FlushInterval {
					quietT.Reset(interval / 2)
				}
				continue
			}
			if wait := interval - time.Since(lastFlush); wait > 0 {
				flushT.Reset(wait)
				armed = true
				if interval > h.cfg.FlushInterval {
					quietT.Reset(interval / 2)
				}
			} else {
				flush(&p)
			}
		case <-flushT.C:
			flush(&p)
		case <-quietT.C:
			flush(&p)
		case <-statsT.C:
			if h.stats == nil || h.Clients() == 0 {
				continue
			}
			// A change to the counts is sent; so is the decay of the
			// rates while nothing arrives (events/s and the last 5
			// minutes fall with time alone), until they reach zero.
			v := h.stats.Version()
			if v == sentVersion && sentRate == 0 && sentRecent == 0 {
				continue
			}
			snap := h.stats.Snapshot()
			if v == sentVersion && snap.EventsPerSecond == sentRate && snap.Recent5Min == sentRecent {
				continue
			}
			sentVersion, sentRate, sentRecent = v, snap.EventsPerSecond, snap.Recent5Min
			if f, err := encode("stats_update", statsFrame{Type: "stats_update", Stats: snap}); err == nil {
				h.broadcast(f)
			}
		}
	}
}

func (h *Hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	for c := range h.clients {
		c.stop(stopShutdown)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// flush turns what arrived since the last flush into frames for everyone.
// It reports whether it had to leave events or messages out.
func (h *Hub) flush(p *pending) (sampled bool) {
	defer p.reset()
	if p.total == 0 && len(p.msgs) == 0 && len(p.markers) == 0 {
		return false
	}
	if h.Clients() == 0 {
		return false
	}
	switch {
	case p.total == 0:
	case p.total <= maxSingleEvents:
		for _, e := range p.events {
			f, err := h.encodePersonal("new_event", newEventFrame{Type: "new_event", Event: e}, func(m *privacy.Masker) any {
				return newEventFrame{Type: "new_event", Event: m.Stored(e)}
			})
			if err != nil {
				h.log.Error("event left out of a frame: cannot encode it", "frame", "new_event", "id", e.ID, "event_id", e.EventID, "err", err)
				continue
			}
			h.broadcast(f)
		}
	default:
		events := p.events
		if len(events) > maxBatchEvents {
			events = events[len(events)-maxBatchEvents:]
		}
		dropped := p.total - len(events)
		sampled = dropped > 0
		h.sampled.Add(float64(dropped))
		encodeEvents := func(events []event.Stored) (frame, error) {
			return h.encodePersonal("new_events", newEventsFrame{Type: "new_events", Events: events, Dropped: dropped}, func(m *privacy.Masker) any {
				return newEventsFrame{Type: "new_events", Events: maskedEvents(m, events), Dropped: dropped}
			})
		}
		f, err := encodeEvents(events)
		if err != nil {
			// One event that cannot be encoded must not take the
			// others with it.
			f, err = encodeEvents(h.encodable("new_events", slices.Clone(events)))
		}
		if err == nil {
			h.broadcast(f)
		}
	}
	if len(p.msgs) > 0 {
		msgs := p.queueFrame()
		sampled = sampled || len(msgs) < len(p.msgs)
		h.track(msgs)
		encodeMessages := func(msgs []event.Message) (frame, error) {
			return h.encodePersonal("queue_update", queueFrame{Type: "queue_update", Messages: msgs}, func(m *privacy.Masker) any {
				return queueFrame{Type: "queue_update", Messages: maskedMessages(m, msgs)}
			})
		}
		f, err := encodeMessages(msgs)
		if err != nil {
			f, err = encodeMessages(h.encodableMessages("queue_update", slices.Clone(msgs)))
		}
		if err == nil {
			h.broadcast(f)
		}
	}
	for _, m := range p.markers {
		if f, err := encode("marker", markerFrame{Type: "marker", Marker: m}); err == nil {
			h.broadcast(f)
		}
	}
	return sampled
}

// isOpen reports whether clients were shown id in a non-final state.
// Only the Run goroutine touches open.
func (h *Hub) isOpen(id string) bool {
	_, ok := h.open[id]
	return ok
}

// track remembers which messages clients now see in a non-final state.
func (h *Hub) track(msgs []event.Message) {
	if h.open == nil {
		h.open = make(map[string]struct{})
	}
	for i := range msgs {
		id := msgs[i].EventID
		if msgs[i].Status.Terminal() {
			delete(h.open, id)
		} else if len(h.open) < maxOpenMessages {
			h.open[id] = struct{}{}
		}
	}
}

// broadcast queues f for every client without waiting: a client whose
// queue is full misses it and is marked for a resync.
func (h *Hub) broadcast(f frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.frames <- f:
		default:
			h.framesDrop.Inc()
			c.behind.Store(true)
			c.wake()
		}
	}
}
