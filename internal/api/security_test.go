package api

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/auth"
)

func TestHostPolicy(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		host    string
		want    bool
	}{
		{nil, "127.0.0.1:8000", true},
		{nil, "localhost:8000", true},
		{nil, "LOCALHOST.", true},
		{nil, "[::1]:8000", true},
		{nil, "rebind.evil.example", false},
		{nil, "rebind.evil.example:8000", false},
		{nil, "127.0.0.1.evil.example", false},
		{nil, "", false},
		{[]string{"*"}, "anything.example", true},
		{[]string{"dash.example.com"}, "dash.example.com:443", true},
		{[]string{"dash.example.com"}, "x.dash.example.com", false},
		{[]string{".example.com"}, "example.com", true},
		{[]string{".example.com"}, "a.b.example.com:8080", true},
		{[]string{".example.com"}, "badexample.com", false},
		{[]string{"*.example.com"}, "a.example.com", true},
		{[]string{"*.example.com"}, "example.com", false},
		{[]string{"https://dash.example.com"}, "dash.example.com", true},
		{[]string{"http://localhost:8000,x"}, "evil.example", false},
		{[]string{"dash.example.com:8443"}, "dash.example.com:8443", true},
		{[]string{"dash.example.com:8443"}, "dash.example.com:80", false},
		{[]string{"10.0.0.5"}, "10.0.0.5:8000", true},
		{[]string{"[fd00::1]"}, "[fd00::1]:8000", true},
	} {
		if got := newHostPolicy(tc.allowed).allows(tc.host); got != tc.want {
			t.Errorf("ALLOWED_HOSTS=%v, Host %q: allowed = %v, want %v", tc.allowed, tc.host, got, tc.want)
		}
	}
}

// do sends one request with the given Host and headers to srv and returns
// the status and body.
func do(t *testing.T, method, url, host string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// concrete fills a route's path parameters.
func concrete(path string) string { return pathParam.ReplaceAllString(path, "x") }

// TestEveryRouteRefusesAForeignHost is the DNS-rebinding guard: every
// documented route, the UI, the metrics and the WebSocket answer a Host
// that is not allowed with 400 before doing anything.
func TestEveryRouteRefusesAForeignHost(t *testing.T) {
	srv := opsServer(t, Config{Loopback: true})
	paths := []route{{"GET", "/"}, {"GET", "/ws/events/"}, {"GET", "/metrics"}, {"GET", "/no/such/path"}}
	for _, op := range operations() {
		paths = append(paths, route{op.method, op.path})
	}
	for _, rt := range paths {
		for _, host := range []string{"rebind.evil.example", "rebind.evil.example:" + strings.Split(srv.Listener.Addr().String(), ":")[1]} {
			code, body := do(t, rt.method, srv.URL+concrete(rt.path), host)
			if code != http.StatusBadRequest || !strings.Contains(body, "is not allowed; add it to ALLOWED_HOSTS") {
				t.Errorf("%s %s with Host %s: %d %s, want 400 naming ALLOWED_HOSTS", rt.method, rt.path, host, code, body)
			}
		}
	}
	if code, body := do(t, "GET", srv.URL+"/api/openapi.json", "localhost"); code != http.StatusOK {
		t.Errorf("Host localhost: %d %s", code, body)
	}
}

// guardedOps are the documented routes that need a role.
func guardedOps(t *testing.T) []operation {
	var out []operation
	for _, op := range operations() {
		if op.need != auth.Public {
			out = append(out, op)
		}
	}
	if len(out) == 0 {
		t.Fatal("no guarded route documented")
	}
	return out
}

// TestRoutesThroughAProxyAreRemote: a loopback server without accounts
// is open to requests straight from this machine only; one carrying any
// forwarding header came through a proxy and must sign in, whatever its
// peer address.
func TestRoutesThroughAProxyAreRemote(t *testing.T) {
	srv, _, _ := authServer(t, Config{Loopback: true})
	for _, op := range guardedOps(t) {
		for _, h := range forwardingHeaders {
			code, body := do(t, op.method, srv.URL+concrete(op.path), "", h, "203.0.113.7")
			if code != http.StatusUnauthorized {
				t.Errorf("%s %s with %s from loopback, no token: %d %s, want 401", op.method, op.path, h, code, body)
			}
		}
		if code, body := do(t, op.method, srv.URL+concrete(op.path), ""); code == http.StatusForbidden || code == http.StatusUnauthorized {
			t.Errorf("%s %s straight from loopback: %d %s", op.method, op.path, code, body)
		}
	}
}

// TestAdminTokenSchemeIsCaseInsensitive: RFC 9110 makes auth schemes
// case-insensitive, so "bearer" and "BEARER" carry the token too.
func TestAdminTokenSchemeIsCaseInsensitive(t *testing.T) {
	const token = "s3cret-admin-token"
	srv, _, _ := authServer(t, Config{AdminToken: token})
	for _, op := range guardedOps(t) {
		for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
			code, body := do(t, op.method, srv.URL+concrete(op.path), "", "Authorization", scheme+" "+token)
			if code == http.StatusForbidden || code == http.StatusUnauthorized {
				t.Errorf("%s %s with %q: %d %s", op.method, op.path, scheme, code, body)
			}
		}
		for _, header := range []string{"", "bearer", "bearer wrong", "Basic " + token, token} {
			if code, body := do(t, op.method, srv.URL+concrete(op.path), "", "Authorization", header); code != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %d %s, want 401", op.method, op.path, header, code, body)
			}
		}
	}
}
