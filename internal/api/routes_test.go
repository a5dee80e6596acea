package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// TestWrongMethodsAndUnknownPaths: a GET on a POST-only route answered
// 404 (the UI's catch-all took it) and a POST on an unknown path 405. Every
// documented path answers each method it does not serve with a JSON 405
// and an Allow header listing those it does; every unknown path under
// /api/ answers a JSON 404, whatever the method.
func TestWrongMethodsAndUnknownPaths(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	deps, reg := opsBackend(t)
	stats := live.NewStats(store.Totals{}, nil)
	hub := live.NewHub(live.HubConfig{}, live.NewBus(nil, reg), stats, db, nil, reg)
	ui := fstest.MapFS{"index.html": {Data: []byte("<!doctype html>"), ModTime: time.Now()}}
	// Every optional part is given, so every route is registered.
	deps.Store, deps.Stats, deps.Hub, deps.Explorer, deps.Gatherer, deps.UI = db, stats, hub, db, reg, ui
	deps.Erasure = db
	if deps.Privacy, err = privacy.Open(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Loopback: true}, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)

	do := func(method, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	isJSONError := func(method string, resp *http.Response) bool {
		if method == http.MethodHead {
			return true // no body to look at
		}
		body, err := io.ReadAll(resp.Body)
		return err == nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && strings.Contains(string(body), `"error":"`)
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

	allowed := map[string][]string{}
	for _, op := range operations() {
		p := strings.ReplaceAll(op.path, "{event_id}", "x1")
		allowed[p] = append(allowed[p], op.method)
		if op.method == "GET" {
			allowed[p] = append(allowed[p], "HEAD")
		}
	}
	for path, ms := range allowed {
		slices.Sort(ms)
		allow := strings.Join(ms, ", ")
		paths := []string{path}
		if strings.HasSuffix(path, "/") && path != "/" {
			paths = append(paths, strings.TrimSuffix(path, "/"))
		}
		for _, p := range paths {
			for _, m := range methods {
				if slices.Contains(ms, m) {
					continue
				}
				resp := do(m, p)
				if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow || !isJSONError(m, resp) {
					t.Errorf("%s %s: %d, Allow %q; want a JSON 405 with Allow %q", m, p, resp.StatusCode, resp.Header.Get("Allow"), allow)
				}
			}
		}
	}

	for _, p := range []string{"/api", "/api/", "/api/nope", "/api/nope/", "/api/events/latest/extra", "/api/events/create/x",
		"/api/messages/", "/api/messages/x1/y/", "/ws/nope"} {
		for _, m := range methods {
			resp := do(m, p)
			if resp.StatusCode != http.StatusNotFound || !isJSONError(m, resp) {
				t.Errorf("%s %s: %d; want a JSON 404", m, p, resp.StatusCode)
			}
		}
	}
}
