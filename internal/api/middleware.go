package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pulse-dev/pulse/internal/metrics"
	"github.com/pulse-dev/pulse/internal/origin"
)

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the request id the middleware gave the request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// saneRequestID reports whether a client's X-Request-ID may be reused:
// short and made of characters safe in logs and Kafka headers.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !saneRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		}()
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// font-src is default-src already; it is spelled out because the UI
		// ships its own typeface (assets/*.woff2) and must never need a CDN.
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		next.ServeHTTP(w, r)
	})
}

// recorder captures the status and size of a response. It unwraps to
// the underlying writer so that the WebSocket upgrade can hijack it.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection over (WebSocket upgrade), recording 101.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer does not support hijacking")
	}
	r.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		s.log.Debug("http request",
			"request_id", RequestID(r.Context()),
			"method", r.Method,
			"path", r.URL.Path,
			"status", rec.code(),
			"bytes", rec.bytes,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"remote_addr", r.RemoteAddr,
			"client_ip", ClientIP(r),
		)
	})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern (WebSocket sessions excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	// A collector reg refuses (a clashing description) still counts,
	// unexported; it does not stop the server.
	_ = metrics.Register(reg, &m.requests)
	_ = metrics.Register(reg, &m.duration)
	return m
}

// middleware labels requests by the mux pattern that served them, never
// by raw path, so metric cardinality stays bounded.
func (m *httpMetrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := routeLabel(r.Pattern)
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.code())).Inc()
		if rec.code() != http.StatusSwitchingProtocols {
			m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}
	})
}

// routeLabel turns "GET /api/queue/stats/{$}" into "/api/queue/stats/".
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = pattern[i+1:]
	}
	pattern = strings.TrimSuffix(pattern, "{$}")
	if pattern != "/" && !strings.HasSuffix(pattern, "/") && !strings.HasPrefix(pattern, "/metrics") {
		pattern += "/"
	}
	return pattern
}

func promhttpHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// jsonMuxErrors turns the mux's own plain-text 404 and 405 answers into
// the API's JSON errors.
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			w = &jsonErrorWriter{ResponseWriter: w}
		}
		mux.ServeHTTP(w, r)
	})
}

type jsonErrorWriter struct {
	http.ResponseWriter
	wrote bool
}

func (j *jsonErrorWriter) WriteHeader(code int) {
	if code < 400 {
		j.ResponseWriter.WriteHeader(code)
		return
	}
	j.wrote = true
	writeJSON(j.ResponseWriter, code, map[string]string{"error": strings.ToLower(http.StatusText(code))})
}

func (j *jsonErrorWriter) Write(p []byte) (int, error) {
	if j.wrote {
		return len(p), nil
	}
	return j.ResponseWriter.Write(p)
}

// loopbackOrigins are always allowed by CORS; brackets are escaped for
// path.Match.
var loopbackOrigins = []string{
	"localhost", "localhost:*",
	"127.0.0.1", "127.0.0.1:*",
	`\[::1\]`, `\[::1\]:*`,
}

func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqOrigin := r.Header.Get("Origin")
		if reqOrigin == "" || strings.HasPrefix(r.URL.Path, "/ws/") || strings.TrimSuffix(r.URL.Path, "/") == collectPath {
			// The WebSocket endpoint and the collector check origins
			// themselves.
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := origin.Allowed(reqOrigin, s.origins)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !allowed {
			if preflight {
				writeError(w, r, s.log, Errorf(EForbidden, "origin %s is not allowed", reqOrigin))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", reqOrigin)
		h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Request-ID, Authorization")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.limiter.Allow(ClientIP(r))
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			writeError(w, r, s.log, Errorf(ERateLimited, "rate limit exceeded: at most %g ingest requests per second per client", s.limiter.Rate()))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken returns the credentials of an Authorization header of the
// Bearer scheme; auth schemes are case-insensitive (RFC 9110 11.1).
func bearerToken(auth string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(auth), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	return token, token != ""
}

// forwardingHeaders are set by reverse proxies; their presence means the
// request came through one.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host"}

// forwarded reports whether r carries a proxy's forwarding header.
func forwarded(r *http.Request) bool {
	for _, h := range forwardingHeaders {
		if len(r.Header.Values(h)) > 0 {
			return true
		}
	}
	return false
}

// directFromLoopback reports whether r comes from this machine without a
// proxy in between.
func directFromLoopback(r *http.Request) bool {
	if forwarded(r) {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// boundBodyRead gives a request's body BodyReadTimeout to arrive, whole.
// The server's ReadTimeout would do it for every request, but would also
// cut WebSocket sessions and long exports; this sets the connection's
// read deadline for requests that have a body only (the server clears it
// once the body is read, for its own background read). A body still
// arriving at the
// deadline is answered 408 and the connection closed: 150 clients
// sending a byte a second used to hold their connections for as long as
// they liked.
func (s *Server) boundBodyRead(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyReadTimeout)); err != nil {
			next.ServeHTTP(w, r) // a writer without deadlines: nothing to bound
			return
		}
		tw := &timeoutWriter{ResponseWriter: w}
		r.Body = &deadlineBody{ReadCloser: r.Body, expired: func() { tw.expire(s.cfg.BodyReadTimeout) }}
		// The deadline stays when the handler returns early: the server
		// then discards the rest of the body under it. The next request
		// on the connection gets its own.
		next.ServeHTTP(tw, r)
	})
}

// deadlineBody reports the read deadline passing.
type deadlineBody struct {
	io.ReadCloser
	expired func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		b.expired()
	}
	return n, err
}

// timeoutWriter answers 408 once a body read timed out, and drops what
// the handler writes after that (its error about the body it could not
// read).
type timeoutWriter struct {
	http.ResponseWriter
	wroteHeader, timedOut bool
}

func (t *timeoutWriter) expire(d time.Duration) {
	if t.wroteHeader || t.timedOut {
		return
	}
	t.timedOut = true
	t.ResponseWriter.Header().Set("Connection", "close")
	writeJSON(t.ResponseWriter, http.StatusRequestTimeout, map[string]string{
		"error": fmt.Sprintf("request body not received within %v", d),
	})
}

func (t *timeoutWriter) WriteHeader(code int) {
	if t.timedOut {
		return
	}
	t.wroteHeader = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *timeoutWriter) Write(p []byte) (int, error) {
	if t.timedOut {
		return len(p), nil
	}
	t.wroteHeader = true
	return t.ResponseWriter.Write(p)
}

func (t *timeoutWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

func (t *timeoutWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok && !t.timedOut {
		f.Flush()
	}
}
