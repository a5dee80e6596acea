package chaos

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// requestHost sends method to url with headers and body, and the Host
// header host (the client takes it from Request.Host, not from the header
// map; empty: the URL's), and returns the response with its body read.
func requestHost(t *testing.T, method, url, host, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := http.Client{Timeout: 15 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDNSRebindingAndProxiedAdmin plays, against a real serve on
// loopback without a token, a page on a rebound DNS name (it used to
// start a load run, replay dead letters and export everything) and a
// reverse proxy on the same machine (its requests used to count as
// loopback and open the admin routes; a request through a proxy must
// sign in).
func TestDNSRebindingAndProxiedAdmin(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t))
	base := "http://" + s.http
	_, port, _ := net.SplitHostPort(s.http)
	routes := []struct{ method, path, body string }{
		{"POST", "/api/load/", `{"events_per_second":10,"duration_seconds":1}`},
		{"DELETE", "/api/load/", ""},
		{"POST", "/api/dlq/replay/", `{"all":true}`},
		{"GET", "/api/events/export/", ""},
		{"GET", "/api/events/latest/", ""},
		{"POST", "/api/events/create/", `{"user_id":"u1","event_type":"page_view"}`},
		{"GET", "/api/health/", ""},
		{"GET", "/", ""},
	}
	for _, r := range routes {
		for _, host := range []string{"rebind.evil.example", "rebind.evil.example:" + port} {
			resp, body := requestHost(t, r.method, base+r.path, host, r.body, "Content-Type", "application/json")
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "add it to ALLOWED_HOSTS") {
				t.Errorf("%s %s with Host %s: %d %s, want 400", r.method, r.path, host, resp.StatusCode, trim(body))
			}
		}
	}
	// The WebSocket's own check compares Origin with Host, which a
	// rebound page sets alike: the Host check must come first.
	evil := "http://rebind.evil.example:" + port
	h := http.Header{}
	h.Set("Origin", evil)
	c, resp, err := websocket.Dial(pulsetest.Context(t, 10*time.Second), "ws://"+s.http+"/ws/events/",
		&websocket.DialOptions{Host: "rebind.evil.example:" + port, HTTPHeader: h})
	if err == nil {
		c.CloseNow()
		t.Errorf("WebSocket from a page on a rebound name accepted")
	} else if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("WebSocket from a page on a rebound name: %v %v, want 400", resp, err)
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP"} {
		value := "203.0.113.9"
		if h == "Forwarded" {
			value = "for=203.0.113.9"
		}
		resp, body := request(t, "DELETE", base+"/api/load/", "", h, value)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("DELETE /api/load/ through a proxy (%s) without a token: %d %s, want 401", h, resp.StatusCode, trim(body))
		}
	}
	if resp, body := request(t, "DELETE", base+"/api/load/", ""); resp.StatusCode == 403 || resp.StatusCode == 401 {
		t.Errorf("DELETE /api/load/ from loopback: %d %s", resp.StatusCode, trim(body))
	}
	if strings.Contains(s.Logs(), `"load run started"`) {
		t.Errorf("a refused request started a load run")
	}
}

// TestAllowedHostsOnAServer checks ALLOWED_HOSTS on a real serve: a
// listed name and its subdomains are answered, the listen address too.
func TestAllowedHostsOnAServer(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t), "--allowed-hosts", ".pulse.example")
	base := "http://" + s.http
	for host, want := range map[string]int{
		"pulse.example":         200,
		"dash.pulse.example":    200,
		s.http:                  200,
		"localhost":             200,
		"evil.example":          400,
		"pulse.example.evil.io": 400,
	} {
		if resp, body := requestHost(t, "GET", base+"/api/openapi.json", host, ""); resp.StatusCode != want {
			t.Errorf("Host %s: %d %s, want %d", host, resp.StatusCode, trim(body), want)
		}
	}
}
