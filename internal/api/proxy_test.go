package api

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestClientIPBehindProxies(t *testing.T) {
	trusted := proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, tc := range []struct {
		name    string
		proxies proxies
		peer    string
		headers map[string]string
		want    string
	}{
		{"no proxies trusted: forged header ignored", nil, "198.51.100.9:5000", map[string]string{"X-Forwarded-For": "1.2.3.4"}, "198.51.100.9"},
		{"untrusted peer: forged header ignored", trusted, "198.51.100.9:5000", map[string]string{"X-Forwarded-For": "1.2.3.4"}, "198.51.100.9"},
		{"trusted peer", trusted, "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "1.2.3.4"}, "1.2.3.4"},
		{"client prepends a lie", trusted, "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "9.9.9.9, 1.2.3.4"}, "1.2.3.4"},
		{"chain of trusted proxies", trusted, "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "1.2.3.4, 10.0.0.7"}, "1.2.3.4"},
		{"all hops trusted", trusted, "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "10.0.0.8, 10.0.0.7"}, "10.0.0.8"},
		{"garbage left of the client", trusted, "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "garbage, 1.2.3.4"}, "1.2.3.4"},
		{"garbage as the last hop", trusted, "10.1.2.3:5000", map[string]string{"X-Forwarded-For": "1.2.3.4, garbage"}, "10.1.2.3"},
		{"Forwarded", trusted, "10.1.2.3:5000", map[string]string{"Forwarded": `for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`}, "2001:db8::1"},
		{"X-Real-IP", trusted, "10.1.2.3:5000", map[string]string{"X-Real-IP": "192.0.2.61"}, "192.0.2.61"},
		{"no header from a trusted proxy", trusted, "10.1.2.3:5000", nil, "10.1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := tc.proxies.clientIP(r); got != tc.want {
				t.Errorf("client %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRateLimitBehindAReverseProxy puts a real reverse proxy in front of
// the server: with the proxy trusted, clients it forwards for get a
// bucket each; without, they share the proxy's, and a client's own
// X-Forwarded-For changes nothing.
func TestRateLimitBehindAReverseProxy(t *testing.T) {
	const proxyToken = "proxy-test-token"
	create := func(t *testing.T, base, xff string) int {
		req, _ := http.NewRequest("POST", base+"/api/events/create/", strings.NewReader(`{"user_id":"u1","event_type":"page_view"}`))
		req.Header.Set("Content-Type", "application/json")
		// Through a proxy the server is remote: ingest needs a token.
		req.Header.Set("Authorization", "Bearer "+proxyToken)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	proxied := func(t *testing.T, cfg Config) string {
		env := newEnv(t, cfg, nil)
		target, _ := url.Parse(env.srv.URL)
		// ReverseProxy appends its peer (127.0.0.1) to X-Forwarded-For.
		p := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
		t.Cleanup(p.Close)
		return p.URL
	}
	limit := Config{IngestRate: 0.001, IngestBurst: 1, AdminToken: proxyToken}

	t.Run("trusted", func(t *testing.T) {
		cfg := limit
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		base := proxied(t, cfg)
		if code := create(t, base, "198.51.100.1"); code != http.StatusCreated {
			t.Fatalf("client 1: %d", code)
		}
		if code := create(t, base, "198.51.100.1"); code != http.StatusTooManyRequests {
			t.Fatalf("client 1 again: %d, want 429", code)
		}
		if code := create(t, base, "198.51.100.2"); code != http.StatusCreated {
			t.Fatalf("client 2 shares client 1's bucket: %d", code)
		}
	})
	t.Run("not trusted", func(t *testing.T) {
		base := proxied(t, limit)
		if code := create(t, base, "198.51.100.1"); code != http.StatusCreated {
			t.Fatalf("client 1: %d", code)
		}
		if code := create(t, base, "198.51.100.2"); code != http.StatusTooManyRequests {
			t.Fatalf("client 2 through an untrusted proxy: %d, want 429 (one bucket)", code)
		}
	})
	t.Run("forged from an untrusted peer", func(t *testing.T) {
		cfg := limit
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		env := newEnv(t, cfg, nil)
		if code := create(t, env.srv.URL, "198.51.100.1"); code != http.StatusCreated {
			t.Fatalf("first: %d", code)
		}
		if code := create(t, env.srv.URL, "198.51.100.2"); code != http.StatusTooManyRequests {
			t.Fatalf("a forged X-Forwarded-For bought a new bucket: %d, want 429", code)
		}
	})
}
