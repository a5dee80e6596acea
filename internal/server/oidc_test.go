package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/test/oidctest"
)

// TestSignInThroughOIDC: the OpenID settings reach the API. A server
// configured with a real provider and a role map signs a browser in
// through it with the mapped role.
func TestSignInThroughOIDC(t *testing.T) {
	// The server listens on port 0 and learns its address in New, after
	// its configuration is read: the provider is told a placeholder
	// callback, and the browser's way back is aimed at the real one.
	const callback = "http://127.0.0.1:1/api/auth/oidc/callback/"
	op := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{callback}, Users: []oidctest.User{
		{Username: "ada", Password: "pw", Email: "ada@example.com", EmailVerified: true, Groups: []string{"pulse-ops"}},
	}})
	r := startWith(t, t.TempDir(), func(c *config.Config) {
		c.OIDC = config.OIDC{Issuer: op.Issuer, ClientID: op.ClientID, ClientSecret: op.ClientSecret, RedirectURL: callback,
			Name: "Acme SSO", Scopes: c.OIDC.Scopes, RolesClaim: c.OIDC.RolesClaim, RoleMap: "pulse-admins=admin,pulse-ops=operator"}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
	b := oidctest.NewBrowser(t)
	var providers struct {
		OIDC struct{ Name, LoginURL string } `json:"oidc"`
	}
	getJSON(t, r.url("/api/auth/providers/"), &providers)
	if providers.OIDC.Name != "Acme SSO" {
		t.Fatalf("providers: %+v", providers)
	}
	back := op.Authorize(b, b.Start(r.url("/api/auth/oidc/login/?next=/dlq")), "ada", "pw")
	back.Host = r.Addr()
	if resp := b.Get(back.String()); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/dlq" {
		t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	me := b.Get(r.url("/api/auth/me/"))
	var who struct {
		Kind, Role string
		Account    struct{ Email string }
	}
	if err := json.Unmarshal([]byte(me.Body), &who); err != nil || who.Kind != "session" || who.Role != "operator" || who.Account.Email != "ada@example.com" {
		t.Fatalf("me: %d %s", me.StatusCode, me.Body)
	}
}
