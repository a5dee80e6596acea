package chaos

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// dialFrom opens a WebSocket to addr from the loopback address local and
// returns the HTTP status of the answer (101 when open).
func dialFrom(t *testing.T, addr, local string) int {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/ws/events/", &websocket.DialOptions{HTTPClient: hc})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
		// Keep reading so that the client answers pings.
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	return resp.StatusCode
}

// TestWebSocketCapsOnAServer: one client address used to open 2,000
// WebSockets (and with them the process's descriptors); a real serve
// now caps them per client and in total.
func TestWebSocketCapsOnAServer(t *testing.T) {
	s := startServe(t, t.TempDir(), pulsetest.FreeAddr(t), pulsetest.FreeAddr(t), "--ws-max-clients", "5", "--ws-max-clients-per-ip", "3")
	for i := range 3 {
		if code := dialFrom(t, s.http, "127.0.0.1"); code != 101 {
			t.Fatalf("connection %d from 127.0.0.1: %d", i+1, code)
		}
	}
	if code := dialFrom(t, s.http, "127.0.0.1"); code != http.StatusTooManyRequests {
		t.Errorf("4th connection from 127.0.0.1: %d, want 429", code)
	}
	for i := range 2 {
		if code := dialFrom(t, s.http, "127.0.0.2"); code != 101 {
			t.Fatalf("connection %d from 127.0.0.2: %d", i+1, code)
		}
	}
	if code := dialFrom(t, s.http, "127.0.0.3"); code != http.StatusServiceUnavailable {
		t.Errorf("6th connection in all: %d, want 503", code)
	}
}
