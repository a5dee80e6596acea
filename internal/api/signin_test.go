package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// signinEnv is a server with accounts, its clock movable by the test, its
// logs kept for a grep.
type signinEnv struct {
	t    *testing.T
	srv  *httptest.Server
	auth *auth.Service
	now  atomic.Int64
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newSigninEnv(t *testing.T, cfg Config, loginsPerEmail int) *signinEnv {
	t.Helper()
	e := &signinEnv{t: t, logs: &syncBuffer{}}
	e.now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, e.now.Load()) }
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.auth, err = auth.New(db, auth.Options{Hash: cheapHash, Now: clock, LoginPerIP: 20, LoginPerEmail: loginsPerEmail}, log)
	if err != nil {
		t.Fatal(err)
	}
	deps, reg := opsBackend(t)
	deps.Auth = e.auth
	e.srv = httptest.NewServer(New(cfg, deps, log, reg).Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *signinEnv) advance(d time.Duration) { e.now.Add(int64(d)) }

type answer struct {
	status int
	header http.Header
	body   string
}

func (e *signinEnv) do(method, path, body string, header http.Header) answer {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// login signs in and returns the session cookie and the CSRF token.
func (e *signinEnv) login(email, password string) (*http.Cookie, string) {
	e.t.Helper()
	r := e.do("POST", "/api/auth/login/", `{"email":"`+email+`","password":"`+password+`"}`, nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	var who whoami
	if err := json.Unmarshal([]byte(r.body), &who); err != nil || who.CSRFToken == "" || who.Account == nil || who.Account.Email != strings.ToLower(strings.TrimSpace(email)) {
		e.t.Fatalf("login answer %s: %v", r.body, err)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie {
			return c, who.CSRFToken
		}
	}
	e.t.Fatalf("login set no session cookie: %v", r.header)
	return nil, ""
}

func withSession(c *http.Cookie, csrf string) http.Header {
	h := http.Header{"Cookie": {c.Name + "=" + c.Value}}
	if csrf != "" {
		h.Set("X-CSRF-Token", csrf)
	}
	return h
}

func (e *signinEnv) addAccount(email, role string) {
	e.t.Helper()
	if _, err := e.auth.AddAccount(e.t.Context(), auth.NewAccount{Email: email, Role: role, Password: "correct horse"}); err != nil {
		e.t.Fatal(err)
	}
}

// TestSignInAndOut: a session cookie that scripts cannot read and other
// sites do not send; wrong passwords and unknown emails alike refused;
// a session that ends on logout, everywhere, on a new password, and
// after a week unused; and no password, hash, session or token in the
// logs.
func TestSignInAndOut(t *testing.T) {
	e := newSigninEnv(t, Config{Loopback: true}, 20)
	if r := e.do("GET", "/api/auth/me/", "", nil); r.status != http.StatusOK || !strings.Contains(r.body, `"kind":"open"`) {
		t.Fatalf("before any account, me: %d %s", r.status, r.body)
	}
	e.addAccount("ada@example.com", "admin")
	if r := e.do("GET", "/api/auth/me/", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("with an account, me without a session: %d %s", r.status, r.body)
	}

	wrong := e.do("POST", "/api/auth/login/", `{"email":"ada@example.com","password":"wrong horse"}`, nil)
	unknown := e.do("POST", "/api/auth/login/", `{"email":"nobody@example.com","password":"wrong horse"}`, nil)
	if wrong.status != http.StatusUnauthorized || unknown.status != wrong.status || unknown.body != wrong.body {
		t.Fatalf("wrong password %d %s, unknown email %d %s: want the same 401", wrong.status, wrong.body, unknown.status, unknown.body)
	}

	cookie, csrf := e.login("ADA@example.com ", "correct horse")
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Secure || cookie.MaxAge <= 0 {
		t.Fatalf("session cookie %+v", cookie)
	}
	if r := e.do("GET", "/api/auth/me/", "", withSession(cookie, "")); r.status != http.StatusOK || !strings.Contains(r.body, `"email":"ada@example.com"`) || !strings.Contains(r.body, csrf) {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	// A cross-site sign-in is refused (login CSRF).
	if r := e.do("POST", "/api/auth/login/", `{"email":"ada@example.com","password":"correct horse"}`, http.Header{"Sec-Fetch-Site": {"cross-site"}}); r.status != http.StatusForbidden {
		t.Fatalf("cross-site login: %d %s", r.status, r.body)
	}

	// Logout needs the CSRF token, then the cookie is worthless.
	if r := e.do("POST", "/api/auth/logout/", "", withSession(cookie, "")); r.status != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/auth/logout/", "", withSession(cookie, csrf)); r.status != http.StatusNoContent || !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %v %s", r.status, r.header, r.body)
	}
	if r := e.do("GET", "/api/load/", "", withSession(cookie, "")); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "sign in again") {
		t.Fatalf("after logout: %d %s", r.status, r.body)
	}

	// Everywhere: two browsers, one signs out for both.
	c1, t1 := e.login("ada@example.com", "correct horse")
	c2, _ := e.login("ada@example.com", "correct horse")
	if r := e.do("POST", "/api/auth/logout/", `{"everywhere":true}`, withSession(c1, t1)); r.status != http.StatusNoContent {
		t.Fatalf("logout everywhere: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/load/", "", withSession(c2, "")); r.status != http.StatusUnauthorized {
		t.Fatalf("the other browser after logout everywhere: %d", r.status)
	}

	// A new password ends the sessions.
	c3, _ := e.login("ada@example.com", "correct horse")
	a, err := e.auth.Account(t.Context(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.auth.SetPassword(t.Context(), a.ID, "battery staple"); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/load/", "", withSession(c3, "")); r.status != http.StatusUnauthorized {
		t.Fatalf("after a new password: %d", r.status)
	}

	// Used, a session lives on; unused for a week, it ends.
	c4, _ := e.login("ada@example.com", "battery staple")
	for range 3 {
		e.advance(5 * 24 * time.Hour)
		if r := e.do("GET", "/api/load/", "", withSession(c4, "")); r.status != http.StatusOK {
			t.Fatalf("a session used every 5 days: %d %s", r.status, r.body)
		}
	}
	e.advance(8 * 24 * time.Hour)
	if r := e.do("GET", "/api/load/", "", withSession(c4, "")); r.status != http.StatusUnauthorized {
		t.Fatalf("a session unused for 8 days: %d", r.status)
	}

	for _, secret := range []string{"correct horse", "battery staple", "wrong horse", c1.Value, c4.Value, csrf, "$argon2id$"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
	if !strings.Contains(e.logs.String(), "sign-in refused") {
		t.Errorf("a refused sign-in is not logged")
	}
}

// TestLoginRateLimit: a burst of guesses for one email is cut off with
// 429 and Retry-After, the right password included, while another
// email from another client still signs in.
func TestLoginRateLimit(t *testing.T) {
	e := newSigninEnv(t, Config{Loopback: true}, 5)
	e.addAccount("ada@example.com", "admin")
	e.addAccount("bob@example.com", "viewer")
	for i := range 5 {
		if r := e.do("POST", "/api/auth/login/", `{"email":"ada@example.com","password":"guess`+string(rune('a'+i))+`"}`, nil); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, r.status, r.body)
		}
	}
	r := e.do("POST", "/api/auth/login/", `{"email":"ada@example.com","password":"correct horse"}`, nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "too many sign-in attempts") {
		t.Fatalf("sixth attempt: %d %v %s", r.status, r.header, r.body)
	}
	e.login("bob@example.com", "correct horse")
	// The bucket refills: a minute later the right password works.
	e.advance(time.Minute)
	e.login("ada@example.com", "correct horse")
}

// TestRolesAndTokens: a demoted account loses the routes at once; the
// last admin cannot be removed or demoted; tokens act with their role,
// capped by their account's, and are refused once revoked, expired or
// orphaned.
func TestRolesAndTokens(t *testing.T) {
	e := newSigninEnv(t, Config{Loopback: true}, 20)
	e.addAccount("ada@example.com", "admin")
	adaCookie, adaCSRF := e.login("ada@example.com", "correct horse")
	admin := withSession(adaCookie, adaCSRF)

	r := e.do("POST", "/api/accounts/", `{"email":"op@example.com","role":"operator","password":"correct horse"}`, admin)
	if r.status != http.StatusCreated {
		t.Fatalf("add account: %d %s", r.status, r.body)
	}
	var added struct{ Account struct{ ID string } }
	_ = json.Unmarshal([]byte(r.body), &added)
	for _, tc := range []struct{ body, want string }{
		{`{"email":"op@example.com","role":"viewer","password":"correct horse"}`, "exists"},
		{`{"email":"OP@example.com","role":"viewer","password":"correct horse"}`, "exists"},
		{`{"email":"not an email","role":"viewer","password":"correct horse"}`, "not an email address"},
		{`{"email":"x@example.com","role":"root","password":"correct horse"}`, "not one of viewer, operator, admin"},
		{`{"email":"x@example.com","role":"viewer","password":"short"}`, "shorter than 8"},
	} {
		if r := e.do("POST", "/api/accounts/", tc.body, admin); r.status/100 != 4 || !strings.Contains(r.body, tc.want) {
			t.Errorf("add %s: %d %s, want 4xx naming %q", tc.body, r.status, r.body, tc.want)
		}
	}

	opCookie, opCSRF := e.login("op@example.com", "correct horse")
	op := withSession(opCookie, opCSRF)
	if r := e.do("POST", "/api/load/", `{"events_per_second":1,"duration_seconds":1}`, op); r.status != http.StatusCreated {
		t.Fatalf("operator starts a load run: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "/api/accounts/"+added.Account.ID+"/", `{"role":"viewer"}`, admin); r.status != http.StatusOK || !strings.Contains(r.body, `"role":"viewer"`) {
		t.Fatalf("demote: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/load/", "", op); r.status != http.StatusForbidden || !strings.Contains(r.body, "needs the operator role; you have viewer") {
		t.Fatalf("demoted operator stops a run: %d %s", r.status, r.body)
	}

	a, _ := e.auth.Account(t.Context(), "ada@example.com")
	for _, tc := range []struct{ method, body string }{{"PATCH", `{"role":"viewer"}`}, {"DELETE", ""}} {
		if r := e.do(tc.method, "/api/accounts/"+a.ID+"/", tc.body, admin); r.status != http.StatusConflict || !strings.Contains(r.body, "last admin") {
			t.Errorf("%s the last admin: %d %s", tc.method, r.status, r.body)
		}
	}

	// A token made by the admin: shown once, listed without its secret.
	r = e.do("POST", "/api/tokens/", `{"name":"ci","role":"operator","expires_in":"1d"}`, admin)
	var made struct {
		Token  struct{ ID string }
		Secret string
	}
	if err := json.Unmarshal([]byte(r.body), &made); r.status != http.StatusCreated || err != nil || !strings.HasPrefix(made.Secret, "plt_") {
		t.Fatalf("make token: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/tokens/", "", admin); r.status != http.StatusOK || strings.Contains(r.body, made.Secret) || !strings.Contains(r.body, `"name":"ci"`) {
		t.Fatalf("list tokens: %d %s", r.status, r.body)
	}
	bearer := http.Header{"Authorization": {"Bearer " + made.Secret}}
	if r := e.do("GET", "/api/load/", "", bearer); r.status != http.StatusOK {
		t.Fatalf("token reads: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/plan/", `{"entries":[]}`, bearer); r.status != http.StatusForbidden {
		t.Fatalf("operator token changes the plan: %d %s", r.status, r.body)
	}
	// Tokens carry no ambient credential: no CSRF token needed.
	if r := e.do("DELETE", "/api/load/", "", bearer); r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
		t.Fatalf("operator token stops a run: %d %s", r.status, r.body)
	}
	e.advance(25 * time.Hour)
	if r := e.do("GET", "/api/load/", "", bearer); r.status != http.StatusUnauthorized {
		t.Fatalf("expired token: %d %s", r.status, r.body)
	}

	// Revoked.
	_, secret, err := e.auth.CreateToken(t.Context(), auth.NewToken{Name: "cli", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	tokens, _ := e.auth.Tokens(t.Context())
	if r := e.do("DELETE", "/api/tokens/"+tokens[len(tokens)-1].ID+"/", "", admin); r.status != http.StatusOK || !strings.Contains(r.body, `"revoked_at":"`) {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/load/", "", http.Header{"Authorization": {"Bearer " + secret}}); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", r.status)
	}

	// A token made by an account acts with at most the account's role,
	// and dies with the account.
	e.addAccount("sam@example.com", "admin")
	sam, _ := e.auth.Account(t.Context(), "sam@example.com")
	_, samSecret, err := e.auth.CreateToken(t.Context(), auth.NewToken{Name: "sam's", Role: "admin", By: &sam})
	if err != nil {
		t.Fatal(err)
	}
	samBearer := http.Header{"Authorization": {"Bearer " + samSecret}}
	if _, err := e.auth.SetRole(t.Context(), sam.ID, "viewer"); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/accounts/", "", samBearer); r.status != http.StatusForbidden {
		t.Fatalf("token of a demoted account: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/accounts/"+sam.ID+"/", "", admin); r.status != http.StatusNoContent {
		t.Fatalf("remove account: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/load/", "", samBearer); r.status != http.StatusUnauthorized {
		t.Fatalf("token of a removed account: %d %s", r.status, r.body)
	}
	if strings.Contains(e.logs.String(), made.Secret) || strings.Contains(e.logs.String(), samSecret) {
		t.Errorf("the logs hold a token")
	}
}

// TestSecureCookieBehindTLSProxy: behind a trusted proxy that says the
// page came over https, the session cookie is Secure; an untrusted peer
// saying so changes nothing.
func TestSecureCookieBehindTLSProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		secure  bool
	}{
		{"trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, true},
		{"untrusted", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSigninEnv(t, Config{TrustedProxies: tc.proxies, AuthRequired: true}, 20)
			e.addAccount("ada@example.com", "viewer")
			r := e.do("POST", "/api/auth/login/", `{"email":"ada@example.com","password":"correct horse"}`, http.Header{"X-Forwarded-Proto": {"https"}})
			cookies := (&http.Response{Header: r.header}).Cookies()
			if r.status != http.StatusOK || len(cookies) != 1 || cookies[0].Secure != tc.secure {
				t.Fatalf("%d %v", r.status, r.header)
			}
		})
	}
}
