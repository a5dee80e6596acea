package chaos

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy forwards TCP connections to a target and can cut them all and
// refuse new ones, to take a database or Redis away from a process
// without stopping the real server other tests share.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}

	wg sync.WaitGroup
}

// startProxy listens on a free loopback port and forwards to target until
// the test ends.
func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// Addr is where clients connect.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close() // refused: the peer sees the connection reset
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.forward(c) })
	}
}

// forward copies both ways between c and a new connection to the target
// until either side ends or the proxy cuts them.
func (p *proxy) forward(c net.Conn) {
	defer p.forget(c)
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		u.Close()
		return
	}
	p.conns[u] = struct{}{}
	p.mu.Unlock()
	defer p.forget(u)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(u, c)
		closeWrite(u)
	})
	_, _ = io.Copy(c, u)
	closeWrite(c)
	wg.Wait()
}

// closeWrite passes an end of stream on without closing the other way.
func closeWrite(c net.Conn) {
	if t, ok := c.(*net.TCPConn); ok {
		_ = t.CloseWrite()
	}
}

func (p *proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// cut closes every open connection and refuses new ones until restore.
// It returns the local ports of the upstream connections it closed: a
// server's session on one of them may still be finishing what it had
// received (PostgreSQL commits a pipeline it read whole, and notices the
// closed socket only when it next reads), which the caller can wait for.
func (p *proxy) cut() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	var ports []int
	for c := range p.conns {
		if a, ok := c.LocalAddr().(*net.TCPAddr); ok && c.RemoteAddr().String() == p.target {
			ports = append(ports, a.Port)
		}
		c.Close()
	}
	return ports
}

// restore accepts connections again.
func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
	p.wg.Wait()
}
