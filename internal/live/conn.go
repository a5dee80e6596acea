package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// clientReadLimit bounds a client message; the protocol's are tiny.
const clientReadLimit = 4096

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
	// masked: the client may not see personal values (see WithMasked).
	masked bool

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
		masked: maskedOf(r.Context()),
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		cancel()
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	h.clients[c] = struct{}{}
	if c.masked {
		h.masked++
	}
	h.wg.Add(1)
	h.mu.Unlock()
	h.clientsGauge.Inc()
	defer func() {
		h.mu.Lock()
		delete(h.clients, c)
		if c.masked {
			h.masked--
		}
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
	checkDone := make(chan struct{})
	go func() {
		defer close(checkDone)
		if check := recheckOf(r.Context()); check != nil {
			h.recheck(c, check)
		}
	}()
	h.write(c)
	reason := c.reason()
	switch reason {
	case stopShutdown:
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
	case stopSlow:
		_ = conn.Close(websocket.StatusPolicyViolation, "client too slow")
	case stopUnauthorized:
		_ = conn.Close(StatusSignInAgain, "sign in again")
	case stopClosed:
		_ = conn.Close(websocket.StatusNormalClosure, "")
	default:
		_ = conn.CloseNow()
	}
	cancel()
	<-readDone
	<-pingDone
	<-checkDone
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
	if !h.send(c, h.initial(c.ctx, c.masked)) {
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
			if !h.send(c, h.initial(c.ctx, c.masked)) {
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
	data := f.data
	if c.masked {
		data = f.masked
		if data == nil && f.data != nil {
			// Made before this client came, with no masked twin: it
			// gets a fresh, masked initial_data instead.
			c.behind.Store(true)
			return true
		}
	}
	if data == nil {
		return true
	}
	// Not c.ctx: cancelling a write in progress makes the library drop the
	// connection, and a client stopped for shutdown or slowness must still
	// get its close frame once this frame is out. WriteTimeout bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.WriteTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
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
