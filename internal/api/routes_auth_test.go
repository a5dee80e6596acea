package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/oidc"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// cheapHash keeps the tests' password hashing fast; the format and the
// code paths are those of the default costs.
var cheapHash = auth.HashParams{Memory: 64, Time: 1, Threads: 1}

// testAuth is an auth service over a store's accounts with cheap hashes.
func testAuth(t *testing.T, accounts store.Accounts, now func() time.Time) *auth.Service {
	t.Helper()
	a, err := auth.New(accounts, auth.Options{Hash: cheapHash, Now: now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// routeRoles is the role each route needs, written out here apart from
// where the routes are registered: a route added without a rule, or with
// one that differs, fails TestEveryRouteHoldsItsRole. Change it with the
// table in docs/accounts.md.
var routeRoles = map[string]auth.Role{
	"GET /api/health/":             auth.Public,
	"POST /api/collect/":           auth.Public,
	"OPTIONS /api/collect/":        auth.Public,
	"GET /api/auth/me/":            auth.Public,
	"POST /api/auth/login/":        auth.Public,
	"POST /api/auth/logout/":       auth.Public,
	"GET /api/auth/providers/":     auth.Public,
	"GET /api/auth/oidc/login/":    auth.Public,
	"GET /api/auth/oidc/callback/": auth.Public,

	"GET /api/events/latest/":        auth.Viewer,
	"GET /api/queue/messages/":       auth.Viewer,
	"GET /api/queue/stats/":          auth.Viewer,
	"GET /api/metrics/":              auth.Viewer,
	"GET /api/consumer_metrics/":     auth.Viewer,
	"GET /api/series/":               auth.Viewer,
	"GET /ws/events/":                auth.Viewer,
	"GET /api/openapi.json/":         auth.Viewer,
	"GET /api/consumers/":            auth.Viewer,
	"GET /api/consumers/history/":    auth.Viewer,
	"GET /api/ordering/":             auth.Viewer,
	"GET /api/dlq/":                  auth.Viewer,
	"GET /api/load/":                 auth.Viewer,
	"GET /api/load/runs/":            auth.Viewer,
	"GET /api/events/":               auth.Viewer,
	"GET /api/events/export/":        auth.Viewer,
	"GET /api/messages/{event_id}/":  auth.Viewer,
	"GET /api/insights/trend/":       auth.Viewer,
	"POST /api/insights/funnel/":     auth.Viewer,
	"GET /api/insights/retention/":   auth.Viewer,
	"GET /api/insights/live/":        auth.Viewer,
	"GET /api/plan/":                 auth.Viewer,
	"GET /api/plan/warnings/":        auth.Viewer,
	"GET /api/insights/rollup-keys/": auth.Viewer,
	"GET /api/insights/saved/":       auth.Viewer,
	"GET /api/alerts/rules/":         auth.Viewer,
	"GET /api/alerts/history/":       auth.Viewer,
	"GET /api/sources/":              auth.Viewer,
	"GET /api/ledger/":               auth.Viewer,
	"GET /api/users/{user_id}/":      auth.Viewer,
	"GET /api/privacy/fields/":       auth.Viewer,

	"POST /api/events/create/":            auth.Operator,
	"POST /api/events/batch/":             auth.Operator,
	"POST /api/dlq/replay/":               auth.Operator,
	"POST /api/consumers/rewind/":         auth.Operator,
	"POST /api/load/":                     auth.Operator,
	"DELETE /api/load/":                   auth.Operator,
	"POST /api/sources/":                  auth.Operator,
	"PATCH /api/sources/{id}/":            auth.Operator,
	"DELETE /api/sources/{id}/":           auth.Operator,
	"POST /api/insights/saved/":           auth.Operator,
	"PATCH /api/insights/saved/{id}/":     auth.Operator,
	"DELETE /api/insights/saved/{id}/":    auth.Operator,
	"POST /api/alerts/rules/":             auth.Operator,
	"PUT /api/alerts/rules/{id}/":         auth.Operator,
	"DELETE /api/alerts/rules/{id}/":      auth.Operator,
	"PUT /api/alerts/rules/{id}/silence/": auth.Operator,

	"PUT /api/plan/":                          auth.Admin,
	"PUT /api/plan/types/{event_type}/":       auth.Admin,
	"DELETE /api/plan/types/{event_type}/":    auth.Admin,
	"POST /api/insights/rollup-keys/":         auth.Admin,
	"DELETE /api/insights/rollup-keys/{key}/": auth.Admin,
	"GET /api/accounts/":                      auth.Admin,
	"POST /api/accounts/":                     auth.Admin,
	"PATCH /api/accounts/{id}/":               auth.Admin,
	"DELETE /api/accounts/{id}/":              auth.Admin,
	"GET /api/tokens/":                        auth.Admin,
	"POST /api/tokens/":                       auth.Admin,
	"DELETE /api/tokens/{id}/":                auth.Admin,
	"GET /api/audit/":                         auth.Admin,
	"GET /api/audit/export/":                  auth.Admin,
	"PUT /api/privacy/fields/":                auth.Admin,
	"POST /api/privacy/erase/":                auth.Admin,
	"GET /api/privacy/erased/":                auth.Admin,
}

// credential is one way a test signs a request.
type credential struct {
	name   string
	role   auth.Role
	cookie string // a session's secret
	csrf   string
	token  string // an API token
}

func (c credential) sign(req *http.Request, withCSRF bool) {
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
		if withCSRF {
			req.Header.Set("X-CSRF-Token", c.csrf)
		}
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

// authServer serves every route of the API, with accounts, over a
// loopback listener (so that only the accounts close it). Its OpenID
// provider cannot be reached.
func authServer(t *testing.T, cfg Config) (*httptest.Server, *Server, *auth.Service) {
	t.Helper()
	return authServerWith(t, cfg, nil, nil)
}

// testOIDC is an OpenID client.
func testOIDC(t *testing.T, cfg oidc.Config) *oidc.Client {
	t.Helper()
	c, err := oidc.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authServerWith is authServer logging to log, with its dependencies
// changed by with, which is told the server's URL before it serves.
func authServerWith(t *testing.T, cfg Config, log *slog.Logger, with func(base string, d *Deps)) (*httptest.Server, *Server, *auth.Service) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	deps, reg := opsBackend(t)
	stats := live.NewStats(store.Totals{}, nil)
	priv, err := privacy.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	hub := live.NewHub(live.HubConfig{RecheckInterval: 20 * time.Millisecond, Masking: priv.Masker}, live.NewBus(nil, reg), stats, db, nil, reg)
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); _ = hub.Run(hubCtx) }()
	t.Cleanup(func() { stopHub(); <-hubDone })
	ui := fstest.MapFS{"index.html": {Data: []byte("<!doctype html>"), ModTime: time.Now()}}
	a := testAuth(t, db, nil)
	deps.Store, deps.Stats, deps.Hub, deps.Explorer, deps.Gatherer, deps.UI, deps.Auth, deps.Audit = db, stats, hub, db, reg, ui, a, db
	deps.Privacy, deps.Erasure = priv, db
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	if with != nil {
		with(base, &deps)
	}
	s := New(cfg, deps, log, reg)
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, s, a
}

// deps returns a server's dependencies.
func deps(s *Server) Deps { return s.deps }

// credentials makes an account of each role, signs each in and gives
// each role a token.
func credentials(t *testing.T, a *auth.Service) []credential {
	t.Helper()
	var out []credential
	for _, role := range []auth.Role{auth.Viewer, auth.Operator, auth.Admin} {
		email := role.String() + "@example.com"
		if _, err := a.AddAccount(t.Context(), auth.NewAccount{Email: email, Role: role.String(), Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
		in, err := a.Login(t.Context(), email, "correct horse", "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := a.CreateToken(t.Context(), auth.NewToken{Name: role.String() + " script", Role: role.String()})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out,
			credential{name: role.String() + " session", role: role, cookie: in.Secret, csrf: in.CSRF},
			credential{name: role.String() + " token", role: role, token: secret})
	}
	return out
}

// TestEveryRouteHoldsItsRole walks the route table for every role: each
// registered route has the rule routeRoles gives it, and over HTTP no
// one passes a route without the role it needs (401 for no one, 403
// naming the role for too low a one), everyone with it passes, and a
// session's unsafe request passes only with its CSRF token.
func TestEveryRouteHoldsItsRole(t *testing.T) {
	srv, s, a := authServer(t, Config{Loopback: true})
	registered := map[string]bool{}
	for _, r := range s.rules {
		key := r.Method + " " + r.Path
		registered[key] = true
		want, ok := routeRoles[key]
		if !ok {
			t.Errorf("%s is registered without a rule in routeRoles: decide who may call it", key)
			continue
		}
		if r.Need != want {
			t.Errorf("%s needs %s, the table says %s", key, r.Need, want)
		}
	}
	for key := range routeRoles {
		if !registered[key] {
			t.Errorf("%s is in routeRoles but not registered", key)
		}
	}
	creds := credentials(t, a) // accounts exist now: the server is closed

	do := func(method, path string, c *credential, withCSRF bool, header http.Header) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+concrete(path), nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if c != nil {
			c.sign(req, withCSRF)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, r := range s.rules {
		if r.Method == "POST" && r.Path == "/api/auth/logout/" {
			continue // would end the sessions the walk uses; signin_test covers it
		}
		code, body := do(r.Method, r.Path, nil, false, nil)
		switch {
		case r.Need == auth.Public && (code == http.StatusUnauthorized || code == http.StatusForbidden) && r.Path != "/api/auth/me/":
			t.Errorf("%s %s is public, but no one got %d %s", r.Method, r.Path, code, body)
		case r.Need != auth.Public && code != http.StatusUnauthorized:
			t.Errorf("%s %s without credentials: %d %s, want 401", r.Method, r.Path, code, body)
		}
		if r.Need == auth.Public {
			continue
		}
		for _, c := range creds {
			code, body := do(r.Method, r.Path, &c, true, nil)
			if c.role < r.Need {
				if code != http.StatusForbidden || !strings.Contains(body, "needs the "+r.Need.String()+" role") {
					t.Errorf("%s %s as %s: %d %s, want 403 naming the %s role", r.Method, r.Path, c.name, code, body, r.Need)
				}
				continue
			}
			// A reader below admin may pass the role and still be refused
			// a search by a personal field (privacy_test covers that).
			if code == http.StatusUnauthorized || (code == http.StatusForbidden && !strings.Contains(body, "is a personal field")) {
				t.Errorf("%s %s as %s: %d %s", r.Method, r.Path, c.name, code, body)
			}
			if c.cookie == "" || safeMethod(r.Method) {
				continue
			}
			if code, body := do(r.Method, r.Path, &c, false, nil); code != http.StatusForbidden || !strings.Contains(body, "X-CSRF-Token") {
				t.Errorf("%s %s as %s without the CSRF token: %d %s, want 403", r.Method, r.Path, c.name, code, body)
			}
			if code, body := do(r.Method, r.Path, &c, true, http.Header{"Sec-Fetch-Site": {"cross-site"}}); code != http.StatusForbidden {
				t.Errorf("%s %s as %s from another site: %d %s, want 403", r.Method, r.Path, c.name, code, body)
			}
		}
	}
	// /metrics: an operator's, or the metrics token.
	for _, c := range creds {
		code, _ := do("GET", "/metrics", &c, false, nil)
		if want := c.role >= auth.Operator; (code == http.StatusOK) != want {
			t.Errorf("GET /metrics as %s: %d", c.name, code)
		}
	}
	if code, _ := do("GET", "/metrics", nil, false, nil); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without credentials: %d", code)
	}
	// Every audited route was recorded, refusals included.
	entries, err := deps(s).Audit.AuditLog(t.Context(), store.AuditFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
	}
	for _, r := range s.rules {
		if key := r.Method + " " + r.Path; audited(r.Method, r.Path) != seen[key] && key != "POST /api/auth/logout/" {
			t.Errorf("%s: audited %v, recorded %v", key, audited(r.Method, r.Path), seen[key])
		}
	}
	// The app's shell holds no data: it is served to anyone, so that it
	// can show the sign-in page.
	if code, body := do("GET", "/explorer", nil, false, nil); code != http.StatusOK || !strings.Contains(body, "<!doctype html>") {
		t.Errorf("GET /explorer without credentials: %d %s", code, body)
	}
}

// TestSocketClosesWhenTheSessionEnds: a WebSocket lives no longer than
// the credentials that opened it. Signing out everywhere, or the first
// account closing an open server, closes it with 4401 (sign in again),
// not a drop the page would reconnect after.
func TestSocketClosesWhenTheSessionEnds(t *testing.T) {
	srv, _, a := authServer(t, Config{Loopback: true})
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/events/"
	dial := func(header http.Header) *websocket.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: header})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	closedWith := func(c *websocket.Conn) websocket.StatusCode {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return websocket.CloseStatus(err)
			}
		}
	}

	open := dial(nil) // open server: no credentials
	creds := credentials(t, a)
	if code := closedWith(open); code != live.StatusSignInAgain {
		t.Fatalf("open socket after the first account: closed with %d, want %d", code, live.StatusSignInAgain)
	}

	viewer := creds[0]
	c := dial(http.Header{"Cookie": {sessionCookie + "=" + viewer.cookie}})
	other := dial(http.Header{"Authorization": {"Bearer " + creds[1].token}})
	acc, err := a.Account(t.Context(), "viewer@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.LogoutEverywhere(t.Context(), acc.ID); err != nil {
		t.Fatal(err)
	}
	if code := closedWith(c); code != live.StatusSignInAgain {
		t.Fatalf("socket after sign-out everywhere: closed with %d", code)
	}
	// The token's socket is not the session's: it stays.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	for {
		if _, _, err := other.Read(ctx); err != nil {
			if ctx.Err() == nil {
				t.Fatalf("another client's socket closed: %v", err)
			}
			break
		}
	}
	other.CloseNow()
}
