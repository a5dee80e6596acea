package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/sources"
	"github.com/pulse-dev/pulse/internal/store"
)

// SourceStore keeps the sources (store.Sources).
type SourceStore interface {
	CreateSource(ctx context.Context, s store.Source) error
	Sources(ctx context.Context) ([]store.Source, error)
	RevokeSource(ctx context.Context, id string, at time.Time) (store.Source, error)
	UpdateSource(ctx context.Context, id string, origins []string, settings store.SourceSettings) (store.Source, error)
}

// LedgerReader reads the delivery ledger (store.Ledger).
type LedgerReader interface {
	LedgerSeries(ctx context.Context, sourceID string, from, to time.Time, step time.Duration) ([]ledger.Point, error)
}

// DefaultTrackerPath is where pulse.js is served unless configured.
const DefaultTrackerPath = "/pulse.js"

// tracker is pulse.js as the UI build left it, with its integrity hash,
// and gzipped once: every page of a site loads it.
type tracker struct {
	path      string
	body      []byte
	gzipped   []byte
	integrity string
	etag      string
}

// loadTracker reads pulse.js from the built UI; nil when the UI has none
// (a binary built without `npm run build`).
func loadTracker(ui fs.FS, path string) *tracker {
	if ui == nil {
		return nil
	}
	body, err := fs.ReadFile(ui, "pulse.js")
	if err != nil {
		return nil
	}
	sum := sha512.Sum384(body)
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = w.Write(body)
	_ = w.Close()
	return &tracker{path: path, body: body, gzipped: gz.Bytes(), integrity: "sha384-" + b64, etag: `"` + b64[:27] + `"`}
}

func (s *Server) sourceRoutes(handle routeFunc, handlePattern func(method, pattern string, h http.Handler)) {
	switch {
	case s.tracker == nil:
	case s.tracker.path == DefaultTrackerPath:
		// Spelled out so that the OpenAPI test sees the route.
		handlePattern("GET", "/pulse.js", http.HandlerFunc(s.trackerScript))
	default:
		handlePattern("GET", s.tracker.path, http.HandlerFunc(s.trackerScript))
	}
	if s.deps.Sources != nil {
		handle("GET", "/api/sources/", auth.Viewer, s.wrap(s.listSources))
		handle("POST", "/api/sources/", auth.Operator, s.wrap(s.createSource))
		handle("PATCH", "/api/sources/{id}/", auth.Operator, s.wrap(s.updateSource))
		handle("DELETE", "/api/sources/{id}/", auth.Operator, s.wrap(s.revokeSource))
	}
	if s.deps.Ledger != nil {
		handle("GET", "/api/ledger/", auth.Viewer, s.wrap(s.ledgerView))
	}
}

// trackerScript serves pulse.js to any site: cacheable for a few
// minutes (its URL does not change with its content), readable across
// origins so that a page may pin it with integrity and crossorigin.
func (s *Server) trackerScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Vary", "Accept-Encoding")
	body, etag := s.tracker.body, s.tracker.etag
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		// Each encoding is its own representation, with its own tag.
		body, etag = s.tracker.gzipped, strings.TrimSuffix(etag, `"`)+`-gzip"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	// A site may measure what the script costs it (Resource Timing).
	h.Set("Timing-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// acceptsGzip reports whether an Accept-Encoding field takes gzip (RFC
// 9110 12.5.3): gzip (or x-gzip) with a q above 0, or else "*" with one.
func acceptsGzip(values []string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			q := 1.0
			if p := strings.TrimSpace(params); p != "" {
				name, value, _ := strings.Cut(p, "=")
				if strings.EqualFold(strings.TrimSpace(name), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
					if err != nil {
						continue
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzipQ = q
			case "*":
				anyQ = q
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}

type trackerInfo struct {
	URLPath   string `json:"url_path"`
	Integrity string `json:"integrity"`
}

func (s *Server) trackerInfo() trackerInfo {
	if s.tracker == nil {
		return trackerInfo{URLPath: s.cfg.TrackerPath}
	}
	return trackerInfo{URLPath: s.tracker.path, Integrity: s.tracker.integrity}
}

func (s *Server) listSources(w http.ResponseWriter, r *http.Request) error {
	all, err := s.deps.Sources.Sources(r.Context())
	if err != nil {
		return fmt.Errorf("read the sources: %w", err)
	}
	if all == nil {
		all = []store.Source{}
	}
	return writeJSON(w, http.StatusOK, struct {
		Sources []store.Source `json:"sources"`
		Tracker trackerInfo    `json:"tracker"`
	}{all, s.trackerInfo()})
}

func (s *Server) createSource(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name     string               `json:"name"`
		Origins  []string             `json:"origins"`
		Settings store.SourceSettings `json:"settings"`
	}
	if err := decodeBody(w, r, 64<<10, &in); err != nil {
		return err
	}
	src, err := sources.New(in.Name, in.Origins, in.Settings, time.Now())
	if err != nil {
		return Errorf(EInvalid, "%v", err)
	}
	switch err := s.deps.Sources.CreateSource(r.Context(), src); {
	case errors.Is(err, store.ErrSourceExists):
		return Errorf(EConflict, "name: a source named %q exists (revoked ones keep their names)", src.Name)
	case err != nil:
		return fmt.Errorf("create source: %w", err)
	}
	s.sourcesChanged(r.Context())
	s.log.Info("source created", "source", src.ID, "name", src.Name, "request_id", RequestID(r.Context()))
	return writeJSON(w, http.StatusCreated, struct {
		Source store.Source `json:"source"`
	}{src})
}

// updateSource changes what the body names of a source's origins and
// settings; the rest stays.
func (s *Server) updateSource(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Origins  *[]string `json:"origins"`
		Settings *struct {
			RespectDNT *bool      `json:"respect_dnt"`
			Plan       *string    `json:"plan"`
			StoreIP    *bool      `json:"store_ip"`
			Retention  *store.Age `json:"retention"`
		} `json:"settings"`
	}
	if err := decodeBody(w, r, 64<<10, &in); err != nil {
		return err
	}
	all, err := s.deps.Sources.Sources(r.Context())
	if err != nil {
		return fmt.Errorf("read the sources: %w", err)
	}
	id := r.PathValue("id")
	var src store.Source
	found := false
	for _, x := range all {
		if x.ID == id {
			src, found = x, true
		}
	}
	switch {
	case !found:
		return Errorf(ENotFound, "no source with id %q", id)
	case src.RevokedAt != nil:
		return Errorf(EConflict, "source %q is revoked", id)
	}
	origins, settings := src.Origins, src.Settings
	if in.Origins != nil {
		if origins, err = sources.Origins(*in.Origins); err != nil {
			return Errorf(EInvalid, "%v", err)
		}
	}
	if in.Settings != nil {
		if in.Settings.RespectDNT != nil {
			settings.RespectDNT = *in.Settings.RespectDNT
		}
		if in.Settings.Plan != nil {
			if settings.Plan, err = plan.CheckMode(*in.Settings.Plan); err != nil {
				return Errorf(EInvalid, "settings.plan: %v", err)
			}
		}
		if in.Settings.StoreIP != nil {
			settings.StoreIP = *in.Settings.StoreIP
		}
		if in.Settings.Retention != nil {
			if err := store.CheckRetention(time.Duration(*in.Settings.Retention)); err != nil {
				return Errorf(EInvalid, "settings.retention: %v", err)
			}
			settings.Retention = *in.Settings.Retention
		}
	}
	if src, err = s.deps.Sources.UpdateSource(r.Context(), id, origins, settings); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(ENotFound, "no source with id %q", id)
		}
		return fmt.Errorf("update source: %w", err)
	}
	s.sourcesChanged(r.Context())
	s.log.Info("source updated", "source", src.ID, "plan", src.Settings.Plan, "store_ip", src.Settings.StoreIP,
		"retention", src.Settings.Retention.String(), "request_id", RequestID(r.Context()))
	return writeJSON(w, http.StatusOK, struct {
		Source store.Source `json:"source"`
	}{src})
}

func (s *Server) revokeSource(w http.ResponseWriter, r *http.Request) error {
	src, err := s.deps.Sources.RevokeSource(r.Context(), r.PathValue("id"), time.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Errorf(ENotFound, "no source with id %q", r.PathValue("id"))
	case err != nil:
		return fmt.Errorf("revoke source: %w", err)
	}
	s.sourcesChanged(r.Context())
	s.log.Info("source revoked", "source", src.ID, "name", src.Name, "request_id", RequestID(r.Context()))
	return writeJSON(w, http.StatusOK, struct {
		Source store.Source `json:"source"`
	}{src})
}

// sourcesChanged makes a change count at once on this server; other
// servers see it within their registry's refresh.
func (s *Server) sourcesChanged(ctx context.Context) {
	if s.deps.SourceKeys != nil {
		if err := s.deps.SourceKeys.Load(ctx); err != nil {
			s.log.Warn("reloading the sources failed", "err", err)
		}
	}
}

// ledgerPoint is a ledger point with its gaps spelled out.
type ledgerPoint struct {
	T        *time.Time `json:"t,omitempty"`
	SourceID string     `json:"source_id"`
	ledger.Counts
	Gaps int64 `json:"gaps"`
}

// ledgerView answers GET /api/ledger/: per step of the range and source,
// the ledger's counts, and their totals per source.
func (s *Server) ledgerView(w http.ResponseWriter, r *http.Request) error {
	rg, err := parseRange(r)
	if err != nil {
		return err
	}
	sourceID := r.URL.Query().Get("source")
	from, to := rg.Window(time.Now())
	points, err := s.deps.Ledger.LedgerSeries(r.Context(), sourceID, from, to, rg.Step)
	if err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	out := make([]ledgerPoint, len(points))
	totals := map[string]*ledger.Counts{}
	for i, p := range points {
		t := p.T.UTC()
		out[i] = ledgerPoint{T: &t, SourceID: p.SourceID, Counts: p.Counts, Gaps: p.Gaps()}
		if totals[p.SourceID] == nil {
			totals[p.SourceID] = &ledger.Counts{}
		}
		totals[p.SourceID].Add(p.Counts)
	}
	sum := make([]ledgerPoint, 0, len(totals))
	for id, c := range totals {
		sum = append(sum, ledgerPoint{SourceID: id, Counts: *c, Gaps: c.Gaps()})
	}
	sort.Slice(sum, func(i, j int) bool { return sum[i].SourceID < sum[j].SourceID })
	return writeJSON(w, http.StatusOK, struct {
		Range       string        `json:"range"`
		StepSeconds int64         `json:"step_seconds"`
		From        time.Time     `json:"from"`
		To          time.Time     `json:"to"`
		Points      []ledgerPoint `json:"points"`
		Totals      []ledgerPoint `json:"totals"`
	}{rg.Name, int64(rg.Step / time.Second), from.UTC(), to.UTC(), out, sum})
}
