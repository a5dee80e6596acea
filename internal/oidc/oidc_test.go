package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
)

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"":                              "/",
		"/":                             "/",
		"/explorer?q=1#top":             "/explorer?q=1#top",
		"/users/a%2Fb":                  "/users/a%2Fb",
		"//evil.example/":               "/",
		"/\\evil.example/":              "/",
		"https://evil.example/":         "/",
		"javascript:alert(1)":           "/",
		"evil.example":                  "/",
		"/\t/evil.example":              "/",
		"/ok\r\nSet-Cookie: x=1":        "/",
		"/api/auth/oidc/login/":         "/",
		"/api":                          "/",
		"/ws/events/":                   "/",
		"/" + strings.Repeat("a", 3000): "/",
	} {
		if got := SafeNext(next); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestClaims(t *testing.T) {
	var claims map[string]any
	if err := json.Unmarshal([]byte(`{"groups":["a","b",3],"role":"ops","realm_access":{"roles":["admin"]},
		"https://example.com/roles":["x"],"email_verified":"true"}`), &claims); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"groups": {"a", "b"}, "role": {"ops"}, "realm_access.roles": {"admin"},
		"https://example.com/roles": {"x"}, "missing": nil, "realm_access.missing": nil, "role.x": nil,
	} {
		v, _ := lookup(claims, name)
		if got := values(v); !slices.Equal(got, want) {
			t.Errorf("claim %s: %v, want %v", name, got, want)
		}
	}
	if !truthy(claims["email_verified"]) || !truthy(true) || truthy("yes") || truthy(nil) {
		t.Error("truthy")
	}
}

func TestRoleMap(t *testing.T) {
	c, err := New(Config{Issuer: "https://idp.example.com", ClientID: "pulse", RedirectURL: "https://p/api/auth/oidc/callback/",
		Roles: map[string]auth.Role{"admins": auth.Admin, "ops": auth.Operator, "*": auth.Viewer}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		claimed []string
		want    auth.Role
	}{
		{nil, auth.Viewer}, {[]string{"other"}, auth.Viewer}, {[]string{"ops"}, auth.Operator},
		{[]string{"admins", "ops"}, auth.Admin}, {[]string{"ops", "admins"}, auth.Admin}, {[]string{"Admins"}, auth.Viewer},
	} {
		if got := c.role(tc.claimed); got != tc.want {
			t.Errorf("role(%v) = %s, want %s", tc.claimed, got, tc.want)
		}
	}
	delete(c.cfg.Roles, "*")
	if got := c.role([]string{"other"}); got != auth.Public {
		t.Errorf("no match without *: %s", got)
	}
	if c.Name() != "idp.example.com" {
		t.Errorf("name %q", c.Name())
	}
}

// TestFlowCookie: the flow cookie opens only as sealed, with the key of
// the same client secret, and not once expired.
func TestFlowCookie(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newClient := func(secret string) *Client {
		c, err := New(Config{Issuer: "https://idp.example.com", ClientID: "pulse", ClientSecret: secret, RedirectURL: "https://p/api/auth/oidc/callback/",
			Roles: map[string]auth.Role{"*": auth.Viewer}, Now: func() time.Time { return now }}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b, other := newClient("s3cret"), newClient("s3cret"), newClient("another")
	value, err := a.seal.seal(flow{State: "st", Nonce: "n", Verifier: "v", Next: "/x", Expires: now.Add(flowTTL)})
	if err != nil {
		t.Fatal(err)
	}
	var f flow
	if err := b.seal.open(value, &f); err != nil || f.State != "st" || f.Verifier != "v" {
		t.Fatalf("another server of the same client: %+v %v", f, err)
	}
	if err := other.seal.open(value, &f); err == nil {
		t.Fatal("a cookie of another client secret opened")
	}
	tampered := []byte(value)
	tampered[len(tampered)/2] ^= 1
	if err := a.seal.open(string(tampered), &f); err == nil {
		t.Fatal("a changed cookie opened")
	}
	// Past its time, the callback refuses it before asking the provider.
	callback := func(value string) error {
		r := httptest.NewRequest("GET", "/api/auth/oidc/callback/?state=st&code=c", nil)
		r.AddCookie(&http.Cookie{Name: flowCookie, Value: value})
		_, next, err := a.Finish(t.Context(), httptest.NewRecorder(), r, false)
		if next != "/" {
			t.Errorf("next %q after a refusal", next)
		}
		return err
	}
	now = now.Add(flowTTL)
	if err := callback(value); err == nil || !strings.Contains(err.Error(), "flow cookie expired") {
		t.Fatalf("an expired flow: %v", err)
	}
}
