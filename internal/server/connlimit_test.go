package server

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// TestPeerLimit holds idle connections from one address up to the cap:
// the next is answered 429 and closed, another address and an exempt
// (trusted proxy) address are not capped, and a closed connection gives
// its slot back.
func TestPeerLimit(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newPeerLimit(inner, 2, func(ip netip.Addr) bool { return ip == netip.MustParseAddr("127.0.0.3") }, testLogger(t))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	defer srv.Close()
	addr := inner.Addr().String()

	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// refused reports whether the server answered 429 and closed c.
	refused := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		return err == nil && resp.StatusCode == http.StatusTooManyRequests
	}
	a1, a2 := dial("127.0.0.1"), dial("127.0.0.1")
	if refused(a1) || refused(a2) {
		t.Fatal("connections within the cap refused")
	}
	if !refused(dial("127.0.0.1")) {
		t.Fatal("third idle connection of one address not refused")
	}
	if refused(dial("127.0.0.2")) {
		t.Fatal("another address refused")
	}
	for range 3 {
		if refused(dial("127.0.0.3")) {
			t.Fatal("a trusted proxy capped")
		}
	}
	a1.Close()
	deadline := time.Now().Add(5 * time.Second)
	for refused(dial("127.0.0.1")) {
		if time.Now().After(deadline) {
			t.Fatal("slot of a closed connection not given back")
		}
	}
}
