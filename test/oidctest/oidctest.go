// Package oidctest starts a real OpenID provider for tests: the example
// provider that zitadel/oidc ships (its exampleop server over its
// in-memory storage), on a loopback port, with the users a test chooses
// and a groups claim the test can change between sign-ins. Browser drives
// a sign-in the way a browser would: a cookie jar, redirects, and the
// provider's login form.
package oidctest

import (
	"context"
	"net"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// User is an account of the provider.
type User struct {
	Username, Password string
	Email              string
	EmailVerified      bool
	// Groups go in the groups claim (Options.GroupsClaim).
	Groups []string
}

// Options shape the provider.
type Options struct {
	// RedirectURIs are the client's registered redirect URIs; the
	// provider refuses any other.
	RedirectURIs []string
	Users        []User
	// GroupsClaim names the claim that carries the groups ("groups").
	GroupsClaim string
	// GroupsInUserinfoOnly leaves the groups out of the ID token: only
	// the userinfo endpoint tells them, as some providers do.
	GroupsInUserinfoOnly bool
	// Addr is where the provider listens (a free loopback port when
	// empty); its issuer is http://<Addr>.
	Addr string
}

// Provider is a running OpenID provider with one confidential client.
type Provider struct {
	// Issuer is the provider's URL, http://127.0.0.1:<port>.
	Issuer       string
	ClientID     string
	ClientSecret string

	users *users
	srv   *httptest.Server
}

// Start starts a provider for the test; it stops when the test ends.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// New starts a provider on opts.Addr (a free loopback port when empty);
// Close stops it. The provider command (./provider) runs one for the
// browser tests.
func New(opts Options) (*Provider, error) {
	if opts.GroupsClaim == "" {
		opts.GroupsClaim = "groups"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		Issuer:       "http://" + ln.Addr().String(),
		ClientID:     "pulse",
		ClientSecret: "pulse-client-secret",
		users:        &users{byID: map[string]*storage.User{}, groups: map[string][]string{}},
	}
	for i, u := range opts.Users {
		id := "user-" + string(rune('a'+i))
		p.users.byID[id] = &storage.User{
			ID: id, Username: u.Username, Password: u.Password,
			FirstName: u.Username, LastName: "Test",
			Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: language.English,
		}
		p.users.groups[id] = slices.Clone(u.Groups)
	}
	client := storage.WebClient(p.ClientID, p.ClientSecret, opts.RedirectURIs...)
	st := &withGroups{
		Storage: storage.NewStorageWithClients(p.users, map[string]*storage.Client{p.ClientID: client}),
		users:   p.users, claim: opts.GroupsClaim, idToken: !opts.GroupsInUserinfoOnly,
	}
	// A nil logger keeps the example from replacing the process's default
	// logger.
	h := exampleop.SetupServer(p.Issuer, st, nil, false)
	p.srv = httptest.NewUnstartedServer(h)
	_ = p.srv.Listener.Close()
	p.srv.Listener = ln
	p.srv.Start()
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() { p.srv.Close() }

// SetGroups replaces a user's groups, for the next token the provider
// issues.
func (p *Provider) SetGroups(username string, groups ...string) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	for id, u := range p.users.byID {
		if u.Username == username {
			p.users.groups[id] = slices.Clone(groups)
			return
		}
	}
	panic("oidctest: no user " + username)
}

// Subject is the subject (sub) the provider gives a user.
func (p *Provider) Subject(username string) string {
	u := p.users.GetUserByUsername(username)
	if u == nil {
		panic("oidctest: no user " + username)
	}
	return u.ID
}

// users is the provider's user store (storage.UserStore).
type users struct {
	mu     sync.Mutex
	byID   map[string]*storage.User
	groups map[string][]string
}

func (u *users) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.byID[id]
}

func (u *users) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, user := range u.byID {
		if user.Username == name {
			return user
		}
	}
	return nil
}

func (u *users) ExampleClientID() string { return storage.ServiceUserID }

func (u *users) groupsOf(id string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.groups[id])
}

// withGroups is the example storage with a groups claim added to the
// userinfo answer and, unless told otherwise, to the ID token: the
// example's own storage has no groups.
type withGroups struct {
	*storage.Storage
	users   *users
	claim   string
	idToken bool
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *withGroups) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if s.idToken {
		s.addGroups(info, req.GetSubject())
	}
	return nil
}

// SetUserinfoFromToken fills the userinfo endpoint's answer.
func (s *withGroups) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	s.addGroups(info, info.Subject)
	return nil
}

func (s *withGroups) addGroups(info *oidc.UserInfo, userID string) {
	if g := s.users.groupsOf(userID); len(g) > 0 {
		info.AppendClaims(s.claim, g)
	}
}
