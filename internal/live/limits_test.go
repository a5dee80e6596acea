package live

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pulse-dev/pulse/internal/event"
)

// dialAs opens a WebSocket as the client named by the X-Test-Client
// header and returns it, or the HTTP status and error of a refusal.
func dialAs(t *testing.T, wsURL, client string) (*websocket.Conn, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("X-Test-Client", client)
	c, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
		return c, http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	var body struct {
		Error string `json:"error"`
	}
	if resp.Body != nil {
		_ = json.NewDecoder(resp.Body).Decode(&body)
	}
	return nil, resp.StatusCode, body.Error
}

func testClientIP(r *http.Request) string { return r.Header.Get("X-Test-Client") }

func TestHubCapsConnectionsPerClient(t *testing.T) {
	env := startHub(t, HubConfig{MaxClientsPerIP: 3, MaxClients: 100, ClientIP: testClientIP}, nil)
	var conns []*websocket.Conn
	for range 3 {
		c, code, why := dialAs(t, env.url, "a")
		if c == nil {
			t.Fatalf("connection within the cap refused: %d %s", code, why)
		}
		conns = append(conns, c)
	}
	if c, code, why := dialAs(t, env.url, "a"); c != nil || code != http.StatusTooManyRequests || !strings.Contains(why, "per client") {
		t.Fatalf("4th connection of one client: %d %q, want 429 saying why", code, why)
	}
	if c, code, why := dialAs(t, env.url, "b"); c == nil {
		t.Fatalf("another client refused: %d %s", code, why)
	}
	// A connection that ends gives its slot back.
	conns[0].Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, code, _ := dialAs(t, env.url, "a")
		if c != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not given back: %d", code)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func TestHubCapsConnectionsInTotal(t *testing.T) {
	env := startHub(t, HubConfig{MaxClientsPerIP: 100, MaxClients: 3, ClientIP: testClientIP}, nil)
	for i := range 3 {
		if c, code, why := dialAs(t, env.url, string(rune('a'+i))); c == nil {
			t.Fatalf("connection within the cap refused: %d %s", code, why)
		}
	}
	if c, code, why := dialAs(t, env.url, "z"); c != nil || code != http.StatusServiceUnavailable || !strings.Contains(why, "too many WebSocket connections") {
		t.Fatalf("connection past the total: %d %q, want 503 saying why", code, why)
	}
}

// rawUpgrade opens a TCP connection and performs the WebSocket handshake
// by hand, so the test can then send whatever bytes it likes.
func rawUpgrade(t *testing.T, wsURL string) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, "GET "+u.Path+" HTTP/1.1\r\nHost: "+u.Host+"\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	return conn, br
}

// waitClosed reads (and discards) what the server sends until it closes
// the connection, failing if it is still open after within.
func waitClosed(t *testing.T, conn net.Conn, br *bufio.Reader, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", within)
	}
	return time.Since(start)
}

// TestHubDropsAClientStuckInAMessage sends a frame header announcing
// 2^62 bytes and then nothing: the server used to wait for the payload
// for as long as the connection lived.
func TestHubDropsAClientStuckInAMessage(t *testing.T) {
	env := startHub(t, HubConfig{MessageReadTimeout: 300 * time.Millisecond}, nil)
	conn, br := rawUpgrade(t, env.url)
	// FIN + text; masked, 64-bit length 2^62; a masking key; no payload.
	hdr := []byte{0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
	binary.BigEndian.PutUint64(hdr[2:10], 1<<62)
	if _, err := conn.Write(hdr); err != nil {
		t.Fatal(err)
	}
	d := waitClosed(t, conn, br, 5*time.Second)
	t.Logf("closed %v after the header", d)
}

// TestHubDropsADeadPeer: a client that never answers pings (here one
// stuck after the first byte of a frame header, which hides any pong
// from the reader) is dropped after PingInterval + PongTimeout.
func TestHubDropsADeadPeer(t *testing.T) {
	env := startHub(t, HubConfig{PingInterval: 200 * time.Millisecond, PongTimeout: 200 * time.Millisecond}, nil)
	conn, br := rawUpgrade(t, env.url)
	if _, err := conn.Write([]byte{0x81}); err != nil {
		t.Fatal(err)
	}
	d := waitClosed(t, conn, br, 5*time.Second)
	t.Logf("closed %v after going silent", d)
}

// TestHubKeepsAnIdleClientThatAnswersPings: keepalive drops the dead,
// not the quiet. The client reads (and so answers pings) for three pong
// timeouts, about sixty pings, and must then still get the next frame.
// Whether the server dropped it is judged by that frame, not by the
// error of a read ended by the client's own deadline: the library closes
// the connection when that deadline lands, and a pong it was writing then
// fails as "use of closed network connection".
func TestHubKeepsAnIdleClientThatAnswersPings(t *testing.T) {
	env := startHub(t, HubConfig{PingInterval: 50 * time.Millisecond, PongTimeout: time.Second}, nil)
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")
	type result struct {
		typ string
		err error
	}
	got := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				got <- result{err: err}
				return
			}
			var f wsFrame
			if json.Unmarshal(data, &f) == nil && f.Type == "new_event" {
				got <- result{typ: f.Type}
				return
			}
		}
	}()
	select {
	case r := <-got:
		t.Fatalf("idle client: read ended while idle with %v (the server must not drop it)", r.err)
	case <-time.After(3 * time.Second):
	}
	env.bus.Publish(event.Change{
		Events:   []event.Stored{stored("after-idle", "button_click", "btn_idle")},
		Messages: []event.Message{msg("after-idle", event.StatusCompleted, 3)},
	})
	if r := <-got; r.err != nil {
		t.Fatalf("idle client: no frame after idling, read returned %v (the server must not drop it)", r.err)
	}
}
