package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/metrics"
	"github.com/pulse-dev/pulse/internal/store"
)

// Reader is what the hub reads from the store to greet a client.
type Reader interface {
	LatestEvents(ctx context.Context, limit int) ([]event.Stored, error)
	Messages(ctx context.Context, f store.MessageFilter) ([]event.Message, error)
}

// Subscriber is the bus the hub listens to.
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
	// maxBatchEvents is the most events in one new_events frame: the
	// newest, with the rest counted in its dropped field. Sized for what a
	// person can follow, since every byte goes to every client: at the busy
	// interval 200 events a second reach each dashboard, whose feed turns
	// over its 500 rows every 2.5 s. 100 made each flush to 1,000 clients a
	// burst long enough to put a p99 of 310 ms on delivery (193-263 ms at
	// 50 over four runs of the bench's fan-out scenario).
	maxBatchEvents = 50
	// maxQueueMessages is the most messages in one queue_update frame: the
	// queue monitor shows 50 rows.
	// Updates of messages a client was shown in a non-final state are sent
	// first, so no row is left stuck as retrying.
	maxQueueMessages = 50
	// maxOpenMessages bounds the ids the hub remembers as shown in a
	// non-final state (delayed or retrying records; few at a time).
	maxOpenMessages = 10000
	// maxMarkers is the most marker frames one flush sends.
	maxMarkers = 20
	// clientReadLimit bounds a client message; the protocol's are tiny.
	clientReadLimit = 4096
)

// loopbackOrigins are always allowed to connect. Brackets are escaped
// because the patterns go through path.Match.
var loopbackOrigins = []string{
	"localhost", "localhost:*",
	"127.0.0.1", "127.0.0.1:*",
	`\[::1\]`, `\[::1\]:*`,
}

// Server-to-client frames of docs/api.md.
type (
	initialFrame struct {
		Type     string          `json:"type"`
		Events   []event.Stored  `json:"events"`
		Stats    StatsJSON       `json:"stats"`
		Messages []event.Message `json:"messages"`
	}
	newEventFrame struct {
		Type  string       `json:"type"`
		Event event.Stored `json:"event"`
	}
	newEventsFrame struct {
		Type    string         `json:"type"`
		Events  []event.Stored `json:"events"`
		Dropped int            `json:"dropped"`
	}
	statsFrame struct {
		Type  string    `json:"type"`
		Stats StatsJSON `json:"stats"`
	}
	queueFrame struct {
		Type     string          `json:"type"`
		Messages []event.Message `json:"messages"`
	}
	markerFrame struct {
		Type   string       `json:"type"`
		Marker event.Marker `json:"marker"`
	}
)

// frame is an encoded server message, shared by every client it goes to.
type frame struct {
	kind string
	data []byte
}

// Hub serves /ws/events/: it feeds the Stats from the bus and pushes
// batched updates to every connected dashboard. A client that cannot keep
// up is resynced or disconnected; it never slows the others or the bus.
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
	// admitted counts the connections holding a slot of MaxClients, perIP
	// those of each client address; a slot is taken before the upgrade.
	admitted int
	perIP    map[string]int
	closed   bool
	wg       sync.WaitGroup
}

// NewHub returns a hub subscribed to bus, folding its changes into stats
// and greeting clients from reader. The subscription starts here, so no
// change published after NewHub is missed; Run must be running for
// updates to flow.
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

// admit takes a connection slot for a client at ip, or says why not.
func (h *Hub) admit(ip string) (status int, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return http.StatusServiceUnavailable, "server shutting down"
	case h.admitted >= h.cfg.MaxClients:
		h.overCap.WithLabelValues("total").Inc()
		return http.StatusServiceUnavailable, fmt.Sprintf("too many WebSocket connections: at most %d", h.cfg.MaxClients)
	case h.perIP[ip] >= h.cfg.MaxClientsPerIP:
		h.overCap.WithLabelValues("per_client").Inc()
		return http.StatusTooManyRequests, fmt.Sprintf("too many WebSocket connections from %s: at most %d per client", ip, h.cfg.MaxClientsPerIP)
	}
	h.admitted++
	h.perIP[ip]++
	return 0, ""
}

// release gives back the slot admit took.
func (h *Hub) release(ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.admitted--
	if h.perIP[ip]--; h.perIP[ip] <= 0 {
		delete(h.perIP, ip)
	}
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
	var sentVersion uint64
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
			if h.stats != nil {
				h.stats.Apply(c)
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
			if v := h.stats.Version(); v != sentVersion {
				sentVersion = v
				if f, err := encode("stats_update", statsFrame{Type: "stats_update", Stats: h.stats.Snapshot()}); err == nil {
					h.broadcast(f)
				}
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
			f, err := encode("new_event", newEventFrame{Type: "new_event", Event: e})
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
		f, err := encode("new_events", newEventsFrame{Type: "new_events", Events: events, Dropped: dropped})
		if err != nil {
			// One event that cannot be encoded must not take the
			// others with it.
			events = h.encodable("new_events", slices.Clone(events))
			f, err = encode("new_events", newEventsFrame{Type: "new_events", Events: events, Dropped: dropped})
		}
		if err == nil {
			h.broadcast(f)
		}
	}
	if len(p.msgs) > 0 {
		msgs := p.queueFrame()
		sampled = sampled || len(msgs) < len(p.msgs)
		h.track(msgs)
		f, err := encode("queue_update", queueFrame{Type: "queue_update", Messages: msgs})
		if err != nil {
			f, err = encode("queue_update", queueFrame{Type: "queue_update", Messages: h.encodableMessages("queue_update", slices.Clone(msgs))})
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

func encode(kind string, v any) (frame, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return frame{}, err
	}
	return frame{kind: kind, data: data}, nil
}

// pending collects changes between flushes: the newest events (the rest
// only counted) and the latest state of each message.
type pending struct {
	events []event.Stored
	total  int
	msgs   []event.Message
	idx    map[string]int
	// markers are rare (a few an hour); each is its own frame.
	markers []event.Marker
	// keep marks messages that must not be sampled out: those clients
	// were shown in a non-final state.
	keep func(id string) bool
}

func (p *pending) add(c event.Change) {
	p.markers = append(p.markers, c.Markers...)
	if len(p.markers) > maxMarkers {
		p.markers = p.markers[len(p.markers)-maxMarkers:]
	}
	for _, e := range c.Events {
		p.total++
		p.events = append(p.events, e)
		if len(p.events) >= 2*maxBatchEvents {
			// Keep only the newest; amortised O(1) per event.
			n := copy(p.events, p.events[len(p.events)-maxBatchEvents:])
			clear(p.events[n:])
			p.events = p.events[:n]
		}
	}
	if len(c.Messages) == 0 {
		return
	}
	if p.idx == nil {
		p.idx = make(map[string]int)
	}
	for _, m := range c.Messages {
		if i, ok := p.idx[m.EventID]; ok && m.EventID != "" {
			p.msgs[i] = m
			continue
		}
		p.idx[m.EventID] = len(p.msgs)
		p.msgs = append(p.msgs, m)
		if len(p.msgs) >= 4*maxQueueMessages {
			p.msgs = p.sample(p.msgs, maxQueueMessages)
			clear(p.idx)
			for i, m := range p.msgs {
				p.idx[m.EventID] = i
			}
		}
	}
}

// queueFrame is what the next queue_update carries: every message
// or, when there are too many, the kept ones and the newest others.
func (p *pending) queueFrame() []event.Message {
	if len(p.msgs) <= maxQueueMessages {
		return p.msgs
	}
	return p.sample(slices.Clone(p.msgs), maxQueueMessages)
}

// sample keeps, in order, the messages p.keep asks for and the newest
// others, n in all unless more than n are kept. It reuses msgs.
func (p *pending) sample(msgs []event.Message, n int) []event.Message {
	kept := 0
	if p.keep != nil {
		for i := range msgs {
			if p.keep(msgs[i].EventID) {
				kept++
			}
		}
	}
	others := max(0, n-kept)
	skip := len(msgs) - kept - others // the oldest others to leave out
	out := msgs[:0]
	for i := range msgs {
		if p.keep != nil && p.keep(msgs[i].EventID) {
			out = append(out, msgs[i])
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, msgs[i])
	}
	clear(msgs[len(out):])
	return out
}

func (p *pending) reset() {
	p.events = nil
	p.total = 0
	p.msgs = nil
	p.markers = nil
	clear(p.idx)
}

// Reasons a client's connection ends, as metric labels.
const (
	stopShutdown = "shutdown"
	stopSlow     = "slow"
	stopWrite    = "write_error"
	stopClosed   = "client_closed"
	// stopReadTimeout: a client message begun was not complete within
	// MessageReadTimeout; stopPing: a ping went unanswered.
	stopReadTimeout = "read_timeout"
	stopPing        = "ping_timeout"
)

type client struct {
	conn   *websocket.Conn
	frames chan frame
	kick   chan struct{}
	// behind is set when a frame could not be queued: the client gets a
	// fresh initial_data instead of what it missed.
	behind    atomic.Bool
	wantStats atomic.Bool

	ctx    context.Context
	cancel context.CancelFunc
	// why is the first reason the server gave for ending the connection;
	// empty when the client went away by itself.
	why atomic.Pointer[string]
}

// stop ends the connection for reason; the first reason given wins.
func (c *client) stop(reason string) {
	c.why.CompareAndSwap(nil, &reason)
	c.cancel()
}

func (c *client) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *client) reason() string {
	if r := c.why.Load(); r != nil {
		return *r
	}
	return stopClosed
}

// ServeHTTP upgrades the request to a WebSocket and serves it until the
// client leaves, falls too far behind, or the hub shuts down.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The server's read and write timeouts suit requests, not a session
	// that lasts hours: clear them before the connection is hijacked. A
	// writer that cannot set deadlines has none to clear.
	ip := h.cfg.ClientIP(r)
	if status, why := h.admit(ip); status != 0 {
		h.refused.Inc()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": why})
		return
	}
	defer h.release(ip)
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.origins})
	if err != nil {
		// Accept has written the response (403 for a foreign origin).
		h.refused.Inc()
		h.log.Debug("websocket refused", "origin", r.Header.Get("Origin"), "client_ip", ip, "err", err)
		return
	}
	conn.SetReadLimit(clientReadLimit)
	// The request's context is not used after the hijack; the client's
	// life is bounded by the hub instead.
	ctx, cancel := context.WithCancel(context.Background())
	c := &client{
		conn:   conn,
		frames: make(chan frame, h.cfg.SendQueue),
		kick:   make(chan struct{}, 1),
		ctx:    ctx,
		cancel: cancel,
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		cancel()
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	h.clients[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	h.clientsGauge.Inc()
	defer func() {
		h.mu.Lock()
		delete(h.clients, c)
		h.mu.Unlock()
		h.clientsGauge.Dec()
		h.wg.Done()
	}()

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		h.read(c)
	}()
	pingDone := make(chan struct{})
	go func() {
		defer close(pingDone)
		h.keepalive(c)
	}()
	h.write(c)
	reason := c.reason()
	switch reason {
	case stopShutdown:
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
	case stopSlow:
		_ = conn.Close(websocket.StatusPolicyViolation, "client too slow")
	case stopClosed:
		_ = conn.Close(websocket.StatusNormalClosure, "")
	default:
		_ = conn.CloseNow()
	}
	cancel()
	<-readDone
	<-pingDone
	h.disconnects.WithLabelValues(reason).Inc()
	h.log.Debug("websocket closed", "client_ip", ip, "reason", reason)
}

// keepalive pings the client every PingInterval and stops it when a pong
// does not come back within PongTimeout: a dead peer, or one stuck in
// the middle of a frame, which keeps the reader from seeing the pong.
func (h *Hub) keepalive(c *client) {
	t := time.NewTicker(h.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		// Not c.ctx, as in send: cancelling a write in progress drops
		// the connection before the writer's close frame. Ping returns
		// when the connection closes.
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.PongTimeout)
		err := c.conn.Ping(ctx)
		cancel()
		if err != nil {
			c.stop(stopPing)
			return
		}
	}
}

// readMessage reads the next client message. Waiting for it is not
// bounded (keepalive is); once it has begun, it must be complete within
// MessageReadTimeout or the connection is dropped.
func (h *Hub) readMessage(c *client) (websocket.MessageType, []byte, error) {
	// Not c.ctx: cancelling a Read closes the connection at once, and
	// the writer must first get to send its close frame. Read returns
	// when the connection closes.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	typ, r, err := c.conn.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	// Cancelling ctx now makes the library close the connection.
	t := time.AfterFunc(h.cfg.MessageReadTimeout, func() {
		c.stop(stopReadTimeout)
		cancel()
	})
	defer t.Stop()
	data, err := io.ReadAll(r)
	return typ, data, err
}

// read handles client messages until the connection ends.
func (h *Hub) read(c *client) {
	for {
		typ, data, err := h.readMessage(c)
		if err != nil {
			c.cancel()
			return
		}
		if typ != websocket.MessageText {
			h.log.Debug("ignoring binary websocket message")
			continue
		}
		var msg struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			h.log.Debug("ignoring malformed websocket message", "err", err)
			continue
		}
		switch msg.Type {
		case "get_stats":
			c.wantStats.Store(true)
			c.wake()
		default:
			h.log.Debug("ignoring unknown websocket message", "type", msg.Type)
		}
	}
}

// write sends initial_data and then queued frames until the client stops.
func (h *Hub) write(c *client) {
	if !h.send(c, h.initial(c.ctx)) {
		return
	}
	var lastResync time.Time
	for {
		if c.behind.Swap(false) {
			now := time.Now()
			if !lastResync.IsZero() && now.Sub(lastResync) < h.cfg.ResyncCooldown {
				c.stop(stopSlow)
				return
			}
			lastResync = now
			// Everything queued predates the fresh snapshot.
			for drained := false; !drained; {
				select {
				case <-c.frames:
				default:
					drained = true
				}
			}
			h.resyncs.Inc()
			if !h.send(c, h.initial(c.ctx)) {
				return
			}
		}
		if c.wantStats.Swap(false) && h.stats != nil {
			f, err := encode("stats_update", statsFrame{Type: "stats_update", Stats: h.stats.Snapshot()})
			if err == nil && !h.send(c, f) {
				return
			}
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.kick:
		case f := <-c.frames:
			if !h.send(c, f) {
				return
			}
		}
	}
}

func (h *Hub) send(c *client, f frame) bool {
	if f.data == nil {
		return true
	}
	// Not c.ctx: cancelling a write in progress makes the library drop the
	// connection, and a client stopped for shutdown or slowness must still
	// get its close frame once this frame is out. WriteTimeout bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.WriteTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, f.data); err != nil {
		// The write timing out means a client too slow to take one
		// frame; the library has closed the connection already.
		if errors.Is(err, context.DeadlineExceeded) {
			c.stop(stopWrite)
		}
		c.cancel()
		return false
	}
	h.framesSent.WithLabelValues(f.kind).Inc()
	return true
}

// initial builds the initial_data frame from the store and the stats.
func (h *Hub) initial(ctx context.Context) frame {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg := initialFrame{Type: "initial_data", Events: []event.Stored{}, Messages: []event.Message{}}
	if h.stats != nil {
		msg.Stats = h.stats.Snapshot()
		msg.Messages = append(msg.Messages, h.stats.InFlight()...)
	} else {
		msg.Stats = StatsJSON{EventTypes: map[string]int64{}, TopElements: []ElementCount{}}
	}
	if h.reader != nil {
		events, err := h.reader.LatestEvents(ctx, h.cfg.InitialEvents)
		if err != nil {
			h.log.Warn("initial_data: read latest events", "err", err)
		} else if events != nil {
			msg.Events = events
		}
		stored, err := h.reader.Messages(ctx, store.MessageFilter{Limit: h.cfg.InitialMessages})
		if err != nil {
			h.log.Warn("initial_data: read messages", "err", err)
		}
		msg.Messages = append(msg.Messages, stored...)
	}
	if len(msg.Messages) > h.cfg.InitialMessages {
		msg.Messages = msg.Messages[:h.cfg.InitialMessages]
	}
	f, err := encode("initial_data", msg)
	if err != nil {
		// A row that cannot be encoded must not blank every dashboard.
		msg.Events = h.encodable("initial_data", msg.Events)
		msg.Messages = h.encodableMessages("initial_data", msg.Messages)
		if f, err = encode("initial_data", msg); err != nil {
			h.log.Error("encode initial_data", "err", err)
		}
	}
	return f
}

// encodable returns events without those JSON cannot encode (a time past
// the year 9999, stored before event timestamps were bounded, or taken
// from a Kafka record's timestamp), logging each one left out of a frame
// of kind.
func (h *Hub) encodable(kind string, events []event.Stored) []event.Stored {
	return slices.DeleteFunc(events, func(e event.Stored) bool {
		_, err := json.Marshal(&e)
		if err != nil {
			h.log.Error("event left out of a frame: cannot encode it", "frame", kind, "id", e.ID, "event_id", e.EventID, "err", err)
		}
		return err != nil
	})
}

// encodableMessages is encodable for processing-log messages.
func (h *Hub) encodableMessages(kind string, msgs []event.Message) []event.Message {
	return slices.DeleteFunc(msgs, func(m event.Message) bool {
		_, err := json.Marshal(&m)
		if err != nil {
			h.log.Error("message left out of a frame: cannot encode it", "frame", kind, "id", m.ID, "event_id", m.EventID, "err", err)
		}
		return err != nil
	})
}
