package oidctest

import (
	"net/url"
	"slices"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestProviderSignsIn runs the authorization code flow with PKCE against
// the provider, with go-oidc and x/oauth2 as a client: the ID token
// verifies, carries the nonce and the groups, and the userinfo endpoint
// tells the email; a changed group shows in the next token.
func TestProviderSignsIn(t *testing.T) {
	const callback = "http://127.0.0.1:1/callback" // never called
	for _, userinfoOnly := range []bool{false, true} {
		p := Start(t, Options{RedirectURIs: []string{callback}, GroupsInUserinfoOnly: userinfoOnly, Users: []User{
			{Username: "ada", Password: "pw-ada", Email: "ada@example.com", EmailVerified: true, Groups: []string{"pulse-admins"}},
		}})
		ctx := t.Context()
		provider, err := gooidc.NewProvider(ctx, p.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		conf := oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: callback,
			Endpoint: provider.Endpoint(), Scopes: []string{gooidc.ScopeOpenID, "email"}}
		verifier := provider.Verifier(&gooidc.Config{ClientID: p.ClientID})
		signIn := func() (idGroups, infoGroups []string, email string) {
			t.Helper()
			pkce := oauth2.GenerateVerifier()
			auth, err := url.Parse(conf.AuthCodeURL("st", gooidc.Nonce("n1"), oauth2.S256ChallengeOption(pkce)))
			if err != nil {
				t.Fatal(err)
			}
			back := p.Authorize(NewBrowser(t), auth, "ada", "pw-ada")
			if back.Query().Get("state") != "st" {
				t.Fatalf("callback %s", back)
			}
			tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			id, err := verifier.Verify(ctx, raw)
			if err != nil || id.Nonce != "n1" || id.Subject != p.Subject("ada") {
				t.Fatalf("ID token %+v: %v", id, err)
			}
			var claims struct {
				Groups []string `json:"groups"`
			}
			if err := id.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatal(err)
			}
			var infoClaims struct {
				Groups []string `json:"groups"`
			}
			if err := info.Claims(&infoClaims); err != nil {
				t.Fatal(err)
			}
			return claims.Groups, infoClaims.Groups, info.Email
		}
		idg, infog, email := signIn()
		wantID := []string{"pulse-admins"}
		if userinfoOnly {
			wantID = nil
		}
		if !slices.Equal(idg, wantID) || !slices.Equal(infog, []string{"pulse-admins"}) || email != "ada@example.com" {
			t.Fatalf("userinfo only %v: ID token groups %v, userinfo groups %v, email %q", userinfoOnly, idg, infog, email)
		}
		p.SetGroups("ada", "pulse-ops")
		if _, infog, _ := signIn(); !slices.Equal(infog, []string{"pulse-ops"}) {
			t.Fatalf("after SetGroups: %v", infog)
		}
	}
}
