package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// peerLimit caps the connections one peer address holds on the HTTP
// listener. Every open connection costs a file descriptor whatever it
// does: a client trickling headers (each held up to ReadHeaderTimeout)
// or parking idle keep-alive connections (each held up to IdleTimeout)
// could otherwise take every descriptor of the process, the embedded
// broker's included. WebSockets count too, until they close. Peers that
// are trusted proxies are exempt: behind them are many clients, capped
// further in by their forwarded address.
type peerLimit struct {
	net.Listener
	max    int
	exempt func(netip.Addr) bool
	log    *slog.Logger

	mu   sync.Mutex
	open map[netip.Addr]int
	// warned limits the log to one line per peer while it is over.
	warned map[netip.Addr]bool
}

// tooMany is written to a connection refused by the cap: a client sees
// why instead of a bare reset.
var tooMany = func() []byte {
	body := `{"error":"too many connections from this client address"}` + "\n"
	return []byte(fmt.Sprintf("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"+
		"Connection: close\r\nRetry-After: 10\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}()

func newPeerLimit(ln net.Listener, max int, exempt func(netip.Addr) bool, log *slog.Logger) *peerLimit {
	return &peerLimit{Listener: ln, max: max, exempt: exempt, log: log,
		open: make(map[netip.Addr]int), warned: make(map[netip.Addr]bool)}
}

// Accept returns the next connection of a peer under its cap; the others
// are answered 429 and closed.
func (l *peerLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil || l.exempt(ap.Addr().Unmap()) {
			return c, nil
		}
		ip := ap.Addr().Unmap()
		l.mu.Lock()
		if l.open[ip] >= l.max {
			warn := !l.warned[ip]
			l.warned[ip] = true
			l.mu.Unlock()
			if warn {
				l.log.Warn("client over its connection cap; refusing its new connections", "client_ip", ip.String(), "max", l.max)
			}
			go refuse(c)
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &peerConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *peerLimit) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
		delete(l.warned, ip)
	}
}

// refuse answers 429 and closes, never waiting long on a client that
// does not read.
func refuse(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(tooMany)
	_ = c.Close()
}

// peerConn gives its slot back when closed, once.
type peerConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *peerConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// CloseWrite half-closes the connection, as net/http does before hanging
// up on a request it refuses unread (a 431 for headers over the limit):
// without it the close resets a client still sending, which then never
// reads the answer.
func (c *peerConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
