// Package oidc signs people in through an OpenID Connect provider
// (docs/accounts.md#openid-connect): the authorization code flow with
// PKCE, a state and a nonce, through coreos/go-oidc and x/oauth2. It
// tells who the provider vouched for and the role the role map gives
// them; package auth turns that into an account and a session.
package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/pulse-dev/pulse/internal/auth"
)

// Config is the client's registration at the provider and how its
// claims map to roles.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback's public URL, as registered.
	RedirectURL string
	// Name is the provider's name on the sign-in page; empty: the
	// issuer's host.
	Name string
	// Scopes are asked for; openid is added when missing.
	Scopes []string
	// RolesClaim names the claim Roles reads ("groups").
	RolesClaim string
	// Roles maps the claim's values to roles; "*" is anyone the provider
	// signs in. The highest match wins.
	Roles map[string]auth.Role
	// HTTPClient talks to the provider (a client with a 10 s timeout).
	HTTPClient *http.Client
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Identity is who the provider vouched for.
type Identity struct {
	Issuer  string
	Subject string
	// Email is lowercased; EmailVerified says whether the provider
	// vouches for it.
	Email         string
	EmailVerified bool
	// Claimed are the roles claim's values.
	Claimed []string
	// Role is what the role map gives; auth.Public when nothing matched.
	Role auth.Role
}

// Key is how accounts name the provider's account: "<issuer> <subject>".
func (id Identity) Key() string { return id.Issuer + " " + id.Subject }

// Error is a sign-in the client refused, or could not finish: Reason is
// what the person is told, Err the detail for the logs.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrNoRole is a sign-in the role map gives no role.
var ErrNoRole = errors.New("the role map gives this account no role")

func refuse(reason string, err error) error { return &Error{Reason: reason, Err: err} }

// Client runs sign-ins with one provider.
type Client struct {
	cfg  Config
	seal *sealer
	log  *slog.Logger

	mu sync.Mutex
	// provider is the discovered provider, nil until discovery first
	// succeeds (a provider down at start is asked again at each
	// sign-in).
	provider *gooidc.Provider
}

// New returns a client; it asks the provider nothing yet.
func New(cfg Config, log *slog.Logger) (*Client, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("oidc: no issuer")
	case cfg.ClientID == "":
		return nil, errors.New("oidc: no client id")
	case cfg.RedirectURL == "":
		return nil, errors.New("oidc: no redirect URL")
	case len(cfg.Roles) == 0:
		return nil, errors.New("oidc: no role map")
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "groups"
	}
	if cfg.Name == "" {
		if u, err := url.Parse(cfg.Issuer); err == nil && u.Host != "" {
			cfg.Name = u.Hostname()
		} else {
			cfg.Name = cfg.Issuer
		}
	}
	scopes := []string{gooidc.ScopeOpenID}
	for _, s := range cfg.Scopes {
		if s != gooidc.ScopeOpenID {
			scopes = append(scopes, s)
		}
	}
	cfg.Scopes = scopes
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seal, err := newSealer(cfg.ClientSecret, cfg.Issuer+" "+cfg.ClientID)
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, seal: seal, log: log.With("component", "oidc")}, nil
}

// Name is the provider's name, for the sign-in button.
func (c *Client) Name() string { return c.cfg.Name }

// Issuer is the provider's issuer URL.
func (c *Client) Issuer() string { return c.cfg.Issuer }

// Discover reads the provider's discovery document, once it succeeds.
func (c *Client) Discover(ctx context.Context) error {
	_, err := c.discover(ctx)
	return err
}

func (c *Client) discover(ctx context.Context) (*gooidc.Provider, error) {
	c.mu.Lock()
	p := c.provider
	c.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, c.cfg.HTTPClient), c.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", c.cfg.Issuer, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider == nil {
		c.provider = p
	}
	return c.provider, nil
}

func (c *Client) oauth(p *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: c.cfg.Scopes,
	}
}

// flowCookie keeps a sign-in's state, nonce, PKCE verifier and next
// page between its start and the provider's answer: sealed (AES-GCM),
// HttpOnly, sent only to the sign-in's routes, for flowTTL.
const (
	flowCookie = "pulse_oidc"
	flowPath   = "/api/auth/oidc/"
	flowTTL    = 10 * time.Minute
)

// flow is what the cookie holds.
type flow struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Next     string    `json:"x"`
	Expires  time.Time `json:"e"`
}

// Begin starts a sign-in: it sets the flow cookie on w and returns the
// provider's authorization URL to send the browser to. next is the page
// to open afterwards (SafeNext keeps it on this site). secure marks the
// cookie Secure (the page came over TLS).
func (c *Client) Begin(ctx context.Context, w http.ResponseWriter, secure bool, next string) (string, error) {
	p, err := c.discover(ctx)
	if err != nil {
		return "", refuse("the sign-in provider cannot be reached: try again later", err)
	}
	f := flow{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(),
		Next: SafeNext(next), Expires: c.cfg.Now().Add(flowTTL)}
	value, err := c.seal.seal(f)
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: value, Path: flowPath, MaxAge: int(flowTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure})
	return c.oauth(p).AuthCodeURL(f.State, gooidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), nil
}

// Finish ends a sign-in at the callback: it clears the flow cookie,
// checks the state, trades the code (with the PKCE verifier) for tokens,
// verifies the ID token (signature, issuer, audience, expiry) and its
// nonce, reads the claims (from the userinfo endpoint too when the ID
// token lacks the email or the roles claim) and maps the role. It
// returns the page to open next. Every refusal is an *Error; the
// identity is returned as far as it is known, for the audit log.
func (c *Client) Finish(ctx context.Context, w http.ResponseWriter, r *http.Request, secure bool) (Identity, string, error) {
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Path: flowPath, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure})
	var f flow
	ck, err := r.Cookie(flowCookie)
	if err == nil {
		err = c.seal.open(ck.Value, &f)
	}
	if err == nil && !c.cfg.Now().Before(f.Expires) {
		err = errors.New("flow cookie expired")
	}
	if err != nil {
		return Identity{}, "/", refuse("the sign-in expired or began in another browser: sign in again", err)
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		return Identity{}, "/", refuse("the sign-in's state does not match: sign in again", errors.New("state mismatch"))
	}
	if e := q.Get("error"); e != "" {
		return Identity{}, "/", refuse("the provider refused the sign-in ("+short(e)+")", errors.New(short(e+": "+q.Get("error_description"))))
	}
	code := q.Get("code")
	if code == "" {
		return Identity{}, "/", refuse("the provider sent no code", nil)
	}
	p, err := c.discover(ctx)
	if err != nil {
		return Identity{}, "/", refuse("the sign-in provider cannot be reached: try again later", err)
	}
	ctx = context.WithValue(gooidc.ClientContext(ctx, c.cfg.HTTPClient), oauth2.HTTPClient, c.cfg.HTTPClient)
	tok, err := c.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, "/", refuse("the provider did not accept the sign-in's code: sign in again", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, "/", refuse("the provider sent no ID token", nil)
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID, Now: c.cfg.Now}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, "/", refuse("the provider's ID token is not valid", err)
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return id, "/", refuse("the ID token's nonce does not match: sign in again", errors.New("nonce mismatch"))
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return id, "/", refuse("the provider's ID token is not valid", err)
	}
	_, hasEmail := claims["email"]
	_, hasRoles := lookup(claims, c.cfg.RolesClaim)
	if (!hasEmail || !hasRoles) && p.UserInfoEndpoint() != "" {
		info, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return id, "/", refuse("the provider's userinfo could not be read", err)
		}
		if info.Subject != idt.Subject {
			return id, "/", refuse("the provider's userinfo is of another subject", fmt.Errorf("userinfo sub %q, ID token sub %q", info.Subject, idt.Subject))
		}
		more := map[string]any{}
		if err := info.Claims(&more); err != nil {
			return id, "/", refuse("the provider's userinfo could not be read", err)
		}
		// The ID token is signed: its claims win.
		for k, v := range more {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	id.Email, _ = claims["email"].(string)
	id.Email = strings.ToLower(strings.TrimSpace(id.Email))
	id.EmailVerified = truthy(claims["email_verified"])
	v, _ := lookup(claims, c.cfg.RolesClaim)
	id.Claimed = values(v)
	id.Role = c.role(id.Claimed)
	if id.Role == auth.Public {
		return id, "/", refuse("no Pulse role for this account: ask an admin to put it in a group the role map names", ErrNoRole)
	}
	return id, f.Next, nil
}

// role is the highest role the claimed values map to, "*" included;
// auth.Public for none.
func (c *Client) role(claimed []string) auth.Role {
	best := c.cfg.Roles["*"]
	for _, v := range claimed {
		if r := c.cfg.Roles[v]; r > best {
			best = r
		}
	}
	return best
}

// lookup finds a claim by its name, or failing that by a path of
// object members (realm_access.roles): a name may itself hold dots, as
// namespaced claims (https://example.com/roles) do.
func lookup(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	var at any = claims
	for part := range strings.SplitSeq(name, ".") {
		m, ok := at.(map[string]any)
		if !ok {
			return nil, false
		}
		if at, ok = m[part]; !ok {
			return nil, false
		}
	}
	return at, true
}

// values reads a claim that is a string or an array of strings; other
// members of an array are left out.
func values(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// truthy reads email_verified, which some providers send as a string.
func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// short keeps a provider's error code printable and brief, for it is
// whatever the query string said.
func short(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// SafeNext returns next when it is a page of this site (a path that
// starts with one slash, outside the API), or "/".
func SafeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x21 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	for _, p := range []string{"/api/", "/ws/"} {
		if strings.HasPrefix(u.Path, p) || u.Path == strings.TrimSuffix(p, "/") {
			return "/"
		}
	}
	return next
}
