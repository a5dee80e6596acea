package chaos

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// request sends method to url with headers and body and returns the
// response with its body read.
func request(t *testing.T, method, url, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	return requestHost(t, method, url, "", body, headers...)
}

// TestNoSecretsInLogs runs serve with a password in the database URL and
// a Kafka SASL password, drives some traffic and a failing login, and
// checks that neither password appears anywhere in its output.
func TestNoSecretsInLogs(t *testing.T) {
	const dbPassword, saslPassword = "s3cr3t-pw", "kafka-s3cr3t-pw"
	schema := pgSchema(t)
	dbURL := "postgres://postgres:" + dbPassword + "@127.0.0.1:5432/test?sslmode=disable&search_path=" + schema
	httpAddr, brokerAddr := pulsetest.FreeAddr(t), pulsetest.FreeAddr(t)
	s := startServe(t, t.TempDir(), httpAddr, brokerAddr, "--database-url", dbURL,
		"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "pulse", "--kafka-sasl-password", saslPassword,
		"--log-level", "debug")
	base := "http://" + httpAddr
	for _, path := range []string{"/api/health/", "/api/events/latest/", "/api/queue/stats/", "/api/consumer_metrics/"} {
		request(t, "GET", base+path, "")
	}
	resp, body := request(t, "POST", base+"/api/events/create/", `{"user_id":"u1","event_type":"page_view","element_id":"b"}`, "Content-Type", "application/json")
	if resp.StatusCode != 201 {
		t.Errorf("create: %d %s", resp.StatusCode, body)
	}
	// A client with the wrong SASL password makes the broker log a
	// failed authentication.
	probe := startProc(t, "produce with a wrong password", "produce", "--bootstrap-servers", brokerAddr,
		"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "pulse", "--kafka-sasl-password", "wrong-"+saslPassword,
		"--mode", "batch", "--batch-size", "1")
	pulsetest.WaitFor(t, 30*time.Second, "the failing producer to exit", func() error {
		if !probe.Exited() {
			return fmt.Errorf("running")
		}
		return nil
	})
	if err := s.Stop(); err != nil {
		t.Errorf("serve did not stop cleanly: %v", err)
	}
	out := s.Logs() + probe.Logs()
	for _, secret := range []string{dbPassword, saslPassword} {
		if n := strings.Count(out, secret); n > 0 {
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, secret) {
					t.Errorf("secret %q in the logs: %s", secret, trim(line))
				}
			}
		}
	}
	if !strings.Contains(s.Logs(), "store open") {
		t.Errorf("the log does not show the store opening; was the run real?\n%s", pulsetest.Tail(s.Logs(), 20))
	}
	if !strings.Contains(s.Logs(), "127.0.0.1:5432") {
		t.Errorf("the log never names the database; the check would prove nothing")
	}
	t.Logf("%d lines of serve and producer logs checked for 2 secrets", strings.Count(out, "\n"))
}

// TestSecurityHeadersCORSAndOrigin checks, on a real serve, the UI's
// security headers, the CORS allow list and the WebSocket Origin check.
func TestSecurityHeadersCORSAndOrigin(t *testing.T) {
	httpAddr, brokerAddr := pulsetest.FreeAddr(t), pulsetest.FreeAddr(t)
	startServe(t, t.TempDir(), httpAddr, brokerAddr, "--allowed-hosts", "https://dash.example.com")
	base := "http://" + httpAddr

	resp, _ := request(t, "GET", base+"/", "")
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	} {
		if got := resp.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("GET /: %s = %q, want it to contain %q", h, got, want)
		}
	}

	resp, _ = request(t, "GET", base+"/api/health/", "", "Origin", "https://dash.example.com")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://dash.example.com" {
		t.Errorf("allowed origin: Access-Control-Allow-Origin %q", got)
	}
	resp, _ = request(t, "GET", base+"/api/health/", "", "Origin", "https://evil.example.net")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("foreign origin: Access-Control-Allow-Origin %q", got)
	}
	resp, _ = request(t, "OPTIONS", base+"/api/events/create/", "", "Origin", "https://evil.example.net", "Access-Control-Request-Method", "POST")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("foreign preflight: Access-Control-Allow-Origin %q", got)
	}

	ctx := pulsetest.Context(t, 30*time.Second)
	dial := func(origin string) (int, error) {
		h := http.Header{}
		h.Set("Origin", origin)
		c, resp, err := websocket.Dial(ctx, "ws://"+httpAddr+"/ws/events/", &websocket.DialOptions{HTTPHeader: h})
		if err == nil {
			c.CloseNow()
			return 101, nil
		}
		if resp != nil {
			return resp.StatusCode, err
		}
		return 0, err
	}
	if code, err := dial("https://dash.example.com"); code != 101 {
		t.Errorf("WebSocket from an allowed origin: %d %v", code, err)
	}
	if code, err := dial("http://" + httpAddr); code != 101 {
		t.Errorf("WebSocket from the server's own origin: %d %v", code, err)
	}
	if code, _ := dial("https://evil.example.net"); code != 403 {
		t.Errorf("WebSocket from a foreign origin: %d, want 403", code)
	}
}

// nonLoopbackAddr is an address on this machine that is not loopback,
// for a server that must behave as if reachable from the network.
func nonLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return "0.0.0.0:" + port
}

// TestSignInBeyondLoopback checks the guard on real servers: on
// loopback without accounts everything works; on 0.0.0.0 nothing but
// the health check, the collector and the app's shell is served without
// credentials; with the admin token every route opens to it.
func TestSignInBeyondLoopback(t *testing.T) {
	const token = "chaos-admin-token"
	code := func(method, url string, headers ...string) int {
		resp, _ := request(t, method, url, "", headers...)
		return resp.StatusCode
	}
	loop := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t))
	if c := code("DELETE", "http://"+loop.http+"/api/load/"); c == 401 || c == 403 {
		t.Errorf("loopback without accounts: admin route answered %d", c)
	}
	loop.Stop()

	open := nonLoopbackAddr(t)
	_, port, _ := net.SplitHostPort(open)
	bare := startServe(t, t.TempDir(), open, pulsetest.FreeAddr(t))
	base := "http://127.0.0.1:" + port
	for _, r := range []struct{ method, path string }{{"DELETE", "/api/load/"}, {"GET", "/api/events/latest/"}, {"GET", "/api/events/export/"}, {"GET", "/metrics"}, {"GET", "/ws/events/"}} {
		if c := code(r.method, base+r.path); c != 401 {
			t.Errorf("0.0.0.0 without credentials: %s %s answered %d, want 401", r.method, r.path, c)
		}
	}
	for _, path := range []string{"/api/health/", "/"} {
		if c := code("GET", base+path); c != 200 {
			t.Errorf("0.0.0.0 without credentials: GET %s answered %d, want 200", path, c)
		}
	}
	bare.Stop()

	open = nonLoopbackAddr(t)
	_, port, _ = net.SplitHostPort(open)
	guarded := startServe(t, t.TempDir(), open, pulsetest.FreeAddr(t), "--admin-token", token)
	base = "http://127.0.0.1:" + port
	if c := code("DELETE", base+"/api/load/"); c != 401 {
		t.Errorf("no token: %d, want 401", c)
	}
	if c := code("DELETE", base+"/api/load/", "Authorization", "Bearer wrong"); c != 401 {
		t.Errorf("wrong token: %d, want 401", c)
	}
	if c := code("DELETE", base+"/api/load/", "Authorization", "Bearer "+token); c == 401 || c == 403 {
		t.Errorf("right token: %d", c)
	}
	if c := code("GET", base+"/api/events/latest/", "Authorization", "Bearer "+token); c != 200 {
		t.Errorf("right token reads: %d", c)
	}
	if strings.Contains(guarded.Logs(), token) {
		t.Errorf("the admin token appears in the logs")
	}
}

// TestFirstAccountClosesALoopbackServer: `pulse users add`, run beside a
// serve on loopback (another process, the same database), closes it to
// anyone not signed in within seconds; the account signs in over HTTP;
// and neither the password nor the session reaches the logs.
func TestFirstAccountClosesALoopbackServer(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, pulsetest.FreeAddr(t), pulsetest.FreeAddr(t))
	base := "http://" + s.http
	if resp, body := request(t, "GET", base+"/api/events/latest/", ""); resp.StatusCode != 200 {
		t.Fatalf("open before any account: %d %s", resp.StatusCode, trim(body))
	}
	const password = "chaos correct horse"
	add := exec.Command(pulseBin, "users", "add", "--data-dir", dir, "--email", "ada@example.com", "--role", "admin", "--password-stdin")
	add.Stdin = strings.NewReader(password + "\n")
	if out, err := add.CombinedOutput(); err != nil || strings.Contains(string(out), password) {
		t.Fatalf("pulse users add: %v %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, _ := request(t, "GET", base+"/api/events/latest/", "")
		if resp.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still open 10 s after the first account: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, body := request(t, "POST", base+"/api/auth/login/", `{"email":"ada@example.com","password":"`+password+`"}`, "Content-Type", "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, trim(body))
	}
	var session string
	for _, c := range resp.Cookies() {
		if c.Name == "pulse_session" {
			session = c.Value
		}
	}
	if resp, body := request(t, "GET", base+"/api/events/latest/", "", "Cookie", "pulse_session="+session); resp.StatusCode != 200 {
		t.Fatalf("signed in: %d %s", resp.StatusCode, trim(body))
	}
	for _, secret := range []string{password, session} {
		if session == "" || strings.Contains(s.Logs(), secret) {
			t.Errorf("the logs hold %q (or no session was set)", secret)
		}
	}
}

// TestIngestRateLimit sends a burst of ingest requests from one client to
// a real serve: past the per-client limit it answers 429 with Retry-After.
func TestIngestRateLimit(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t))
	base := "http://" + s.http
	var limited *http.Response
	for i := range 500 {
		resp, _ := request(t, "POST", base+"/api/events/create/",
			fmt.Sprintf(`{"user_id":"u%d","event_type":"page_view"}`, i), "Content-Type", "application/json")
		if resp.StatusCode == 429 {
			limited = resp
			break
		}
	}
	if limited == nil {
		t.Fatalf("500 ingest requests in a row from one client were never rate limited (SPEC 13 asks for a per-client limit with 429 and Retry-After)")
	}
	if limited.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
}
