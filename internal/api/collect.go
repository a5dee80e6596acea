package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/collect"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/origin"
	"github.com/pulse-dev/pulse/internal/store"
)

// Collector takes the batches of POST /api/collect (package collect).
type Collector interface {
	Collect(ctx context.Context, src store.Source, b collect.Batch, now time.Time, requestID string) (collect.Result, error)
	DropDNT(src store.Source, events int, now time.Time)
}

// SourceKeys finds the source of a write key (sources.Registry).
type SourceKeys interface {
	Lookup(ctx context.Context, key string) (store.Source, bool, error)
	// Load reads the sources again, after this server changed them.
	Load(ctx context.Context) error
}

// collectPath is the collector's endpoint; it answers CORS itself.
const collectPath = "/api/collect"

// collectBatch is the body of POST /api/collect (docs/tracker.md).
type collectBatch struct {
	Key     string            `json:"key"`
	SentAt  string            `json:"sent_at"`
	Dropped int64             `json:"dropped"`
	Events  *[]jsontext.Value `json:"events"`
}

// collectAnswer is the answer to a batch: the collector's result, and when
// no event was accepted the reason in the API's error member.
type collectAnswer struct {
	Error string `json:"error,omitempty"`
	collect.Result
	DNTDropped int `json:"dnt_dropped,omitempty"`
}

func (s *Server) collectRoutes(handle routeFunc) {
	if s.deps.Collector == nil || s.deps.SourceKeys == nil {
		return
	}
	h := s.collectCORS(s.wrap(s.collect))
	handle("POST", "/api/collect/", auth.Public, h)
	handle("OPTIONS", "/api/collect/", auth.Public, h)
}

// collectCORS lets any origin send to the collector and read its answer:
// the write key and the source's origins decide what is accepted, and an
// answer a browser cannot read (a 403 without this header) would look
// like a network failure to the tracker, which retries those. Nothing is
// sent with credentials, and the answers hold nothing private.
func (s *Server) collectCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if o := r.Header.Get("Origin"); o != "" {
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
		}
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}

func (s *Server) collect(w http.ResponseWriter, r *http.Request) error {
	now := time.Now()
	if s.collectClients != nil {
		if ok, wait := s.collectClients.Allow(ClientIP(r)); !ok {
			retryAfter(w, wait)
			return Errorf(ERateLimited, "rate limit exceeded: at most %g collect requests per second per client", s.collectClients.Rate())
		}
	}
	if _, err := requireMedia(r, "text/plain", "application/json"); err != nil {
		return err
	}
	body, err := readBody(w, r, collect.MaxBody)
	if err != nil {
		return err
	}
	var in collectBatch
	if err := decodeJSON(body, &in); err != nil {
		return err
	}
	key := in.Key
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	if key == "" {
		return Errorf(EUnauthorized, "key: the source's write key is required (in the body or the key query parameter)")
	}
	b := collect.Batch{Dropped: in.Dropped, ClientIP: ClientIP(r)}
	switch {
	case in.Events == nil || len(*in.Events) == 0:
		return Errorf(EInvalid, "events: must hold at least one event")
	case len(*in.Events) > collect.MaxEvents:
		return Errorf(ETooLarge, "events: %d events, over the limit of %d per request", len(*in.Events), collect.MaxEvents)
	case in.Dropped < 0:
		return Errorf(EInvalid, "dropped: must not be negative")
	}
	b.Events = *in.Events
	if in.SentAt != "" {
		if b.SentAt, err = event.ParseTime(in.SentAt); err != nil {
			return Errorf(EInvalid, "sent_at: must be an RFC 3339 time such as 2024-01-15T10:30:00Z")
		}
	}
	src, ok, err := s.deps.SourceKeys.Lookup(r.Context(), key)
	if err != nil {
		retryAfter(w, time.Second)
		return &Error{Kind: EUnavailable, Message: "the sources cannot be read right now; send again", Err: err}
	}
	if !ok {
		return Errorf(EUnauthorized, "key: no source has this write key, or it was revoked")
	}
	if o := r.Header.Get("Origin"); o != "" && !origin.Allowed(o, src.Origins) {
		return Errorf(EForbidden, "origin %s may not send to source %s; add it to the source's origins", o, src.Name)
	}
	if s.collectKeys != nil {
		if ok, wait := s.collectKeys.Allow(src.ID); !ok {
			retryAfter(w, wait)
			return Errorf(ERateLimited, "rate limit exceeded: at most %g collect requests per second for source %s", s.collectKeys.Rate(), src.Name)
		}
	}
	if src.Settings.RespectDNT && (r.Header.Get("DNT") == "1" || r.Header.Get("Sec-GPC") == "1") {
		s.deps.Collector.DropDNT(src, len(b.Events), now)
		return writeJSON(w, http.StatusOK, collectAnswer{Result: collect.Result{Rejected: []collect.Rejection{}}, DNTDropped: len(b.Events)})
	}
	ctx, cancel := s.produceCtx(r)
	defer cancel()
	res, err := s.deps.Collector.Collect(ctx, src, b, now, RequestID(r.Context()))
	if errors.Is(err, collect.ErrUnavailable) {
		retryAfter(w, time.Second)
		return &Error{Kind: EUnavailable, Message: err.Error(), Err: err}
	}
	if err != nil {
		return err
	}
	if res.Accepted == 0 {
		first := res.Rejected[0]
		return writeJSON(w, http.StatusBadRequest, collectAnswer{Error: "no event accepted: " + first.Field + ": " + first.Error, Result: res})
	}
	return writeJSON(w, http.StatusOK, collectAnswer{Result: res})
}
