package oidctest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is a client with a cookie jar that follows no redirect on its
// own, so that a test sees, and may tamper with, every step of a
// sign-in.
type Browser struct {
	t      testing.TB
	Client *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t testing.TB) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{t: t, Client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Response is an answer, its body read.
type Response struct {
	*http.Response
	Body string
}

// Location is where a redirect sends the browser, resolved against the
// request's URL; nil when the answer is no redirect.
func (r Response) Location() *url.URL {
	loc, err := r.Response.Location()
	if err != nil {
		return nil
	}
	return loc
}

// Get sends one GET and follows nothing.
func (b *Browser) Get(rawURL string) Response {
	b.t.Helper()
	resp, err := b.Client.Get(rawURL)
	if err != nil {
		b.t.Fatalf("GET %s: %v", rawURL, err)
	}
	return read(b.t, resp)
}

func (b *Browser) postForm(rawURL string, form url.Values) Response {
	b.t.Helper()
	resp, err := b.Client.PostForm(rawURL, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", rawURL, err)
	}
	return read(b.t, resp)
}

func read(t testing.TB, resp *http.Response) Response {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Response: resp, Body: string(body)}
}

// Start opens a sign-in link (Pulse's login route) and returns where it
// sends the browser: the provider's authorization URL.
func (b *Browser) Start(loginURL string) *url.URL {
	b.t.Helper()
	r := b.Get(loginURL)
	loc := r.Location()
	if loc == nil {
		b.t.Fatalf("GET %s: %d %s, want a redirect to the provider", loginURL, r.StatusCode, r.Body)
	}
	return loc
}

// formID is the auth request's id in the example provider's login form.
var formID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// Authorize goes through the provider from its authorization URL: its
// redirects, its login page, the username and password submitted, and
// its redirects again, until the provider sends the browser elsewhere.
// It returns that URL (the client's callback with its code and state)
// without calling it.
func (p *Provider) Authorize(b *Browser, authURL *url.URL, username, password string) *url.URL {
	b.t.Helper()
	issuer, _ := url.Parse(p.Issuer)
	at := authURL
	for range 10 {
		if at.Host != issuer.Host {
			return at
		}
		r := b.Get(at.String())
		if loc := r.Location(); loc != nil {
			at = loc
			continue
		}
		m := formID.FindStringSubmatch(r.Body)
		if r.StatusCode != http.StatusOK || m == nil {
			b.t.Fatalf("provider at %s: %d %s", at, r.StatusCode, r.Body)
		}
		r = b.postForm(p.Issuer+"/login/username", url.Values{"id": {m[1]}, "username": {username}, "password": {password}})
		loc := r.Location()
		if loc == nil {
			b.t.Fatalf("provider's login as %s: %d %s", username, r.StatusCode, strings.TrimSpace(r.Body))
		}
		at = loc
	}
	b.t.Fatalf("provider: too many redirects from %s", authURL)
	return nil
}

// SignIn opens loginURL, signs in at the provider and calls the
// callback; it returns the callback's answer, not followed.
func (p *Provider) SignIn(b *Browser, loginURL, username, password string) Response {
	b.t.Helper()
	callback := p.Authorize(b, b.Start(loginURL), username, password)
	return b.Get(callback.String())
}
