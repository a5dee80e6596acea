package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/oidc"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/test/oidctest"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

const (
	oidcCallbackPath = "/api/auth/oidc/callback/"
	callbackAction   = "GET /api/auth/oidc/callback/"
)

// oidcEnv is Pulse's API with sign-in through a real OpenID provider.
type oidcEnv struct {
	t     *testing.T
	base  string
	op    *oidctest.Provider
	auth  *auth.Service
	audit store.Audit
	logs  *pulsetest.Buffer
}

// standardRoles is the role map of most cases.
var standardRoles = map[string]auth.Role{"pulse-admins": auth.Admin, "pulse-ops": auth.Operator, "*": auth.Viewer}

func startOIDC(t *testing.T, opts oidctest.Options, roles map[string]auth.Role) *oidcEnv {
	t.Helper()
	e := &oidcEnv{t: t, logs: &pulsetest.Buffer{}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, s, a := authServerWith(t, Config{Loopback: true}, log, func(base string, d *Deps) {
		opts.RedirectURIs = []string{base + oidcCallbackPath}
		e.op = oidctest.Start(t, opts)
		c, err := oidc.New(oidc.Config{Issuer: e.op.Issuer, ClientID: e.op.ClientID, ClientSecret: e.op.ClientSecret,
			RedirectURL: base + oidcCallbackPath, Scopes: []string{"email", "profile"}, RolesClaim: opts.GroupsClaim, Roles: roles}, log)
		if err != nil {
			t.Fatal(err)
		}
		d.OIDC = c
	})
	e.base, e.auth, e.audit = srv.URL, a, deps(s).Audit
	return e
}

// signIn runs a whole sign-in in b and returns the callback's answer.
func (e *oidcEnv) signIn(b *oidctest.Browser, username, next string) oidctest.Response {
	e.t.Helper()
	return e.op.SignIn(b, e.base+"/api/auth/oidc/login/?next="+url.QueryEscape(next), username, "pw-"+username)
}

// me is GET /api/auth/me/ in b.
func (e *oidcEnv) me(b *oidctest.Browser) (int, whoami) {
	e.t.Helper()
	r := b.Get(e.base + "/api/auth/me/")
	var w whoami
	if r.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(r.Body), &w); err != nil {
			e.t.Fatal(err)
		}
	}
	return r.StatusCode, w
}

// wantSignedIn checks that the callback signed b in as email with role
// and sent it to next.
func (e *oidcEnv) wantSignedIn(b *oidctest.Browser, r oidctest.Response, email string, role auth.Role, next string) store.Account {
	e.t.Helper()
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != next {
		e.t.Fatalf("callback: %d to %q, want 302 to %s", r.StatusCode, r.Header.Get("Location"), next)
	}
	var session *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		e.t.Fatalf("callback's session cookie: %+v", session)
	}
	code, w := e.me(b)
	if code != http.StatusOK || w.Kind != auth.KindSession || w.Role != role.String() || w.Account == nil || w.Account.Email != email {
		e.t.Fatalf("me after sign-in: %d %+v, want a session of %s as %s", code, w, email, role)
	}
	return *w.Account
}

// wantRefused checks that the callback refused with a reason containing
// reason, set no session, and that the audit log says so.
func (e *oidcEnv) wantRefused(b *oidctest.Browser, r oidctest.Response, reason string) {
	e.t.Helper()
	e.wantRefusal(r, reason)
	if code, w := e.me(b); code == http.StatusOK && w.Kind == auth.KindSession {
		e.t.Fatalf("a refused sign-in left a session: %+v", w)
	}
}

// wantRefusal checks the callback's answer and audit entry of a
// refusal.
func (e *oidcEnv) wantRefusal(r oidctest.Response, reason string) {
	e.t.Helper()
	loc := r.Location()
	if r.StatusCode != http.StatusFound || loc == nil || loc.Path != "/" || !strings.Contains(loc.Query().Get("signin_error"), reason) {
		e.t.Fatalf("callback: %d to %v, want 302 to /?signin_error= with %q", r.StatusCode, loc, reason)
	}
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie && c.MaxAge >= 0 {
			e.t.Fatalf("a refused sign-in set the session cookie %+v", c)
		}
	}
	last := e.lastSignIn()
	if last.Outcome != store.AuditRefused || !strings.Contains(last.Detail, reason) || last.Status != http.StatusFound {
		e.t.Fatalf("audit entry of the refusal: %+v", last)
	}
}

// lastSignIn is the newest audit entry of the callback.
func (e *oidcEnv) lastSignIn() store.AuditEntry {
	e.t.Helper()
	entries, err := e.audit.AuditLog(e.t.Context(), store.AuditFilter{Action: callbackAction, Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(entries) == 0 {
		e.t.Fatal("no audit entry of the callback")
	}
	return entries[0]
}

func (e *oidcEnv) accounts() []store.Account {
	e.t.Helper()
	list, err := e.auth.Accounts(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// user is a provider's user whose password is pw-<name>.
func user(name string, verified bool, groups ...string) oidctest.User {
	return oidctest.User{Username: name, Password: "pw-" + name, Email: name + "@example.com", EmailVerified: verified, Groups: groups}
}

// TestOIDCSignIn signs in through a real OpenID provider (zitadel's
// example provider), as a browser would, and checks the roles, the
// accounts and the audit log, and that every tampered, replayed or
// unmapped sign-in is refused without a session.
func TestOIDCSignIn(t *testing.T) {
	t.Run("group maps to admin", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "staff", "pulse-admins")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		start := b.Get(e.base + "/api/auth/oidc/login/?next=/explorer%3Fq%3D1")
		var flow *http.Cookie
		for _, c := range start.Cookies() {
			if c.Name == "pulse_oidc" {
				flow = c
			}
		}
		if start.StatusCode != http.StatusFound || flow == nil || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.Path != "/api/auth/oidc/" || flow.MaxAge != 600 {
			t.Fatalf("login: %d, flow cookie %+v", start.StatusCode, flow)
		}
		q := start.Location().Query()
		if !strings.HasPrefix(start.Location().String(), e.op.Issuer) || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
			q.Get("nonce") == "" || q.Get("state") == "" || q.Get("scope") != "openid email profile" {
			t.Fatalf("login sends the browser to %s", start.Location())
		}
		back := e.op.Authorize(b, start.Location(), "ada", "pw-ada")
		r := b.Get(back.String())
		a := e.wantSignedIn(b, r, "ada@example.com", auth.Admin, "/explorer?q=1")
		if list := e.accounts(); len(list) != 1 || list[0].ID != a.ID || list[0].OIDCSubject != e.op.Issuer+" "+e.op.Subject("ada") {
			t.Fatalf("accounts %+v", list)
		}
		last := e.lastSignIn()
		if last.Outcome != store.AuditOK || last.Actor != "ada@example.com" || last.AccountID != a.ID || last.Detail != "role admin, account created" ||
			last.Target != e.op.Issuer+" "+e.op.Subject("ada") {
			t.Fatalf("audit entry %+v", last)
		}
		// The flow cookie is spent.
		if r.Header.Get("Cache-Control") != "no-store" || !strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), "\n"), "pulse_oidc=; Path=/api/auth/oidc/; Max-Age=0") {
			t.Fatalf("callback headers %v", r.Header)
		}
		// The logs tell the sign-in, never its secrets.
		logs := e.logs.String()
		if !strings.Contains(logs, `"msg":"signed in"`) {
			t.Fatalf("no sign-in logged:\n%s", logs)
		}
		secrets := map[string]string{"the code": back.Query().Get("code"), "the state": q.Get("state"), "the nonce": q.Get("nonce"),
			"the flow cookie": flow.Value, "the client secret": e.op.ClientSecret}
		for _, c := range r.Cookies() {
			if c.Name == sessionCookie {
				secrets["the session"] = c.Value
			}
		}
		for what, v := range secrets {
			if v == "" || strings.Contains(logs, v) {
				t.Errorf("%s (%q) is in the logs, or empty", what, v)
			}
		}
	})

	t.Run("default role through *", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("bob", true)}}, standardRoles)
		b := oidctest.NewBrowser(t)
		e.wantSignedIn(b, e.signIn(b, "bob", "/"), "bob@example.com", auth.Viewer, "/")
	})

	t.Run("groups from the userinfo endpoint", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{GroupsInUserinfoOnly: true, Users: []oidctest.User{user("ops", true, "pulse-ops")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		e.wantSignedIn(b, e.signIn(b, "ops", "/dlq"), "ops@example.com", auth.Operator, "/dlq")
	})

	t.Run("a claim of another name", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{GroupsClaim: "pulse_roles", Users: []oidctest.User{user("cy", true, "pulse-ops")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		e.wantSignedIn(b, e.signIn(b, "cy", "/"), "cy@example.com", auth.Operator, "/")
	})

	t.Run("no role is refused", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("carol", true, "staff")}},
			map[string]auth.Role{"pulse-admins": auth.Admin})
		b := oidctest.NewBrowser(t)
		e.wantRefused(b, e.signIn(b, "carol", "/"), "no Pulse role for this account")
		if list := e.accounts(); len(list) != 0 {
			t.Fatalf("a refused sign-in made accounts %+v", list)
		}
		if last := e.lastSignIn(); last.Actor != "carol@example.com" {
			t.Fatalf("audit entry names %q", last.Actor)
		}
	})

	t.Run("state tampered", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "pulse-admins")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		back := e.op.Authorize(b, b.Start(e.base+"/api/auth/oidc/login/"), "ada", "pw-ada")
		q := back.Query()
		q.Set("state", q.Get("state")+"x")
		back.RawQuery = q.Encode()
		e.wantRefused(b, b.Get(back.String()), "state does not match")
		if len(e.accounts()) != 0 {
			t.Fatal("a tampered sign-in made an account")
		}
	})

	t.Run("the provider answers with an error", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "pulse-admins")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		state := b.Start(e.base + "/api/auth/oidc/login/").Query().Get("state")
		back := e.base + oidcCallbackPath + "?" + url.Values{"state": {state}, "error": {"access_denied"}, "error_description": {"the user said no"}}.Encode()
		e.wantRefused(b, b.Get(back), "the provider refused the sign-in (access_denied)")
	})

	t.Run("callback without its flow cookie", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "pulse-admins")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		back := e.op.Authorize(b, b.Start(e.base+"/api/auth/oidc/login/"), "ada", "pw-ada")
		// Another browser follows the link (login CSRF, or a leaked URL).
		other := oidctest.NewBrowser(t)
		e.wantRefused(other, other.Get(back.String()), "the sign-in expired or began in another browser")
	})

	t.Run("replayed callback", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "pulse-admins")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		back := e.op.Authorize(b, b.Start(e.base+"/api/auth/oidc/login/"), "ada", "pw-ada")
		flowURL, _ := url.Parse(e.base + "/api/auth/oidc/")
		flow := b.Client.Jar.Cookies(flowURL)
		e.wantSignedIn(b, b.Get(back.String()), "ada@example.com", auth.Admin, "/")
		// The same browser again: its flow cookie is spent.
		fresh := oidctest.NewBrowser(t)
		fresh.Client.Jar.SetCookies(flowURL, flow)
		e.wantRefusal(b.Get(back.String()), "the sign-in expired or began in another browser")
		// With the flow cookie put back, the provider refuses the spent code.
		e.wantRefused(fresh, fresh.Get(back.String()), "the provider did not accept the sign-in's code")
	})

	t.Run("nonce changed on the way", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "pulse-admins")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		authURL := b.Start(e.base + "/api/auth/oidc/login/")
		q := authURL.Query()
		q.Set("nonce", "a-nonce-of-the-attacker")
		authURL.RawQuery = q.Encode()
		e.wantRefused(b, b.Get(e.op.Authorize(b, authURL, "ada", "pw-ada").String()), "nonce does not match")
	})

	t.Run("PKCE challenge changed on the way", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "pulse-admins")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		authURL := b.Start(e.base + "/api/auth/oidc/login/")
		q := authURL.Query()
		q.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
		authURL.RawQuery = q.Encode()
		e.wantRefused(b, b.Get(e.op.Authorize(b, authURL, "ada", "pw-ada").String()), "the provider did not accept the sign-in's code")
	})

	t.Run("a local account with the verified email is linked", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "pulse-ops")}}, standardRoles)
		local, err := e.auth.AddAccount(t.Context(), auth.NewAccount{Email: "Ada@Example.com", Role: "viewer", Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		b := oidctest.NewBrowser(t)
		a := e.wantSignedIn(b, e.signIn(b, "ada", "/"), "ada@example.com", auth.Operator, "/")
		if list := e.accounts(); a.ID != local.ID || len(list) != 1 || list[0].OIDCSubject == "" {
			t.Fatalf("signed in as %s; accounts %+v; want the local account %s linked", a.ID, list, local.ID)
		}
		if last := e.lastSignIn(); last.Detail != "role operator, linked by verified email, was viewer" {
			t.Fatalf("audit detail %q", last.Detail)
		}
		// Its password still signs it in.
		if _, err := e.auth.Login(t.Context(), "ada@example.com", "correct horse", "127.0.0.1", "test"); err != nil {
			t.Fatal(err)
		}
		// The next sign-in finds it by its subject.
		b2 := oidctest.NewBrowser(t)
		e.wantSignedIn(b2, e.signIn(b2, "ada", "/"), "ada@example.com", auth.Operator, "/")
		if last := e.lastSignIn(); last.Detail != "role operator" {
			t.Fatalf("audit detail %q", last.Detail)
		}
	})

	t.Run("an unverified email is not linked", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("eve", false, "pulse-admins")}}, standardRoles)
		if _, err := e.auth.AddAccount(t.Context(), auth.NewAccount{Email: "eve@example.com", Role: "viewer", Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
		b := oidctest.NewBrowser(t)
		e.wantRefused(b, e.signIn(b, "eve", "/"), "does not say the email is verified")
		if list := e.accounts(); len(list) != 1 || list[0].OIDCSubject != "" || list[0].Role != "viewer" {
			t.Fatalf("accounts %+v", list)
		}
	})

	t.Run("role re-mapped at each sign-in", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ops", true, "pulse-ops")}}, standardRoles)
		if _, err := e.auth.AddAccount(t.Context(), auth.NewAccount{Email: "root@example.com", Role: "admin", Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			groups []string
			role   auth.Role
			detail string
		}{
			{[]string{"pulse-ops"}, auth.Operator, "role operator, account created"},
			{[]string{"pulse-admins", "pulse-ops"}, auth.Admin, "role admin, was operator"},
			{nil, auth.Viewer, "role viewer, was admin"},
		}
		var id string
		for _, s := range steps {
			e.op.SetGroups("ops", s.groups...)
			b := oidctest.NewBrowser(t)
			a := e.wantSignedIn(b, e.signIn(b, "ops", "/"), "ops@example.com", s.role, "/")
			if id != "" && a.ID != id {
				t.Fatalf("groups %v: account %s, was %s", s.groups, a.ID, id)
			}
			id = a.ID
			if last := e.lastSignIn(); last.Detail != s.detail {
				t.Fatalf("groups %v: audit detail %q, want %q", s.groups, last.Detail, s.detail)
			}
		}
		if len(e.accounts()) != 2 {
			t.Fatalf("accounts %+v", e.accounts())
		}
	})

	t.Run("the last admin keeps the role", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("ada", true, "pulse-admins")}}, standardRoles)
		b := oidctest.NewBrowser(t)
		e.wantSignedIn(b, e.signIn(b, "ada", "/"), "ada@example.com", auth.Admin, "/")
		e.op.SetGroups("ada")
		b = oidctest.NewBrowser(t)
		e.wantSignedIn(b, e.signIn(b, "ada", "/"), "ada@example.com", auth.Admin, "/")
		if last := e.lastSignIn(); last.Detail != "role admin, kept: the last admin" {
			t.Fatalf("audit detail %q", last.Detail)
		}
	})

	t.Run("next stays on this site", func(t *testing.T) {
		e := startOIDC(t, oidctest.Options{Users: []oidctest.User{user("bob", true)}}, standardRoles)
		b := oidctest.NewBrowser(t)
		e.wantSignedIn(b, e.signIn(b, "bob", "https://evil.example/"), "bob@example.com", auth.Viewer, "/")
	})
}

// TestOIDCProviders: the sign-in page learns whether to show the
// provider's button.
func TestOIDCProviders(t *testing.T) {
	e := startOIDC(t, oidctest.Options{}, standardRoles)
	r := oidctest.NewBrowser(t).Get(e.base + "/api/auth/providers/")
	if r.StatusCode != http.StatusOK || r.Body != `{"password":true,"oidc":{"name":"127.0.0.1","login_url":"/api/auth/oidc/login/"}}`+"\n" {
		t.Fatalf("providers: %d %s", r.StatusCode, r.Body)
	}
	srv, _, _ := authServerWith(t, Config{Loopback: true}, nil, func(_ string, d *Deps) { d.OIDC = nil })
	r = oidctest.NewBrowser(t).Get(srv.URL + "/api/auth/providers/")
	if r.StatusCode != http.StatusOK || r.Body != `{"password":true,"oidc":null}`+"\n" {
		t.Fatalf("providers without OIDC: %d %s", r.StatusCode, r.Body)
	}
	if r := oidctest.NewBrowser(t).Get(srv.URL + "/api/auth/oidc/login/"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("login without OIDC: %d", r.StatusCode)
	}
}

// TestOIDCProviderDown: a provider that cannot be reached sends the
// browser back to the sign-in page with the reason.
func TestOIDCProviderDown(t *testing.T) {
	srv, _, _ := authServer(t, Config{Loopback: true})
	r := oidctest.NewBrowser(t).Get(srv.URL + "/api/auth/oidc/login/")
	if loc := r.Location(); r.StatusCode != http.StatusFound || loc == nil || !strings.Contains(loc.Query().Get("signin_error"), "cannot be reached") {
		t.Fatalf("login with the provider down: %d to %v", r.StatusCode, r.Location())
	}
}
