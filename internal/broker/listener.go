package broker

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Backoff of a listener whose Accept fails for a passing reason, as
// net/http's Server does it.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// listener keeps kfake's accept loop alive. kfake returns from its loop,
// and closes the listener, on the first Accept error: one burst of
// "too many open files" (a flood of WebSocket clients exhausting the
// process's descriptors) would leave the embedded broker deaf for good
// while its open connections kept working. Accept here retries passing
// errors with a backoff and returns only when the listener is closed or
// fails for good.
//
// advertised, when set, is the address Addr reports: kfake advertises
// that address to clients in its metadata.
type listener struct {
	net.Listener
	advertised net.Addr
	log        *slog.Logger

	closeOnce sync.Once
	closed    chan struct{}
}

func newListener(ln net.Listener, advertised net.Addr, log *slog.Logger) *listener {
	return &listener{Listener: ln, advertised: advertised, log: log, closed: make(chan struct{})}
}

// Accept waits for the next connection, riding out errors that pass
// (descriptors or buffers exhausted, a connection aborted before it was
// accepted). The first failure of a burst is logged, and the recovery.
func (l *listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			if delay > 0 {
				l.log.Info("embedded broker accepts connections again")
			}
			return c, nil
		}
		if !temporaryAcceptError(err) {
			return nil, err
		}
		if delay == 0 {
			delay = acceptBackoffMin
			l.log.Warn("embedded broker cannot accept connections; retrying", "err", err)
		} else {
			delay = min(2*delay, acceptBackoffMax)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.closed:
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

// Close closes the listener and ends a retrying Accept.
func (l *listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Addr is the advertised address when one was given.
func (l *listener) Addr() net.Addr {
	if l.advertised != nil {
		return l.advertised
	}
	return l.Listener.Addr()
}

// temporaryAcceptError reports whether an Accept error passes: the
// process or the system is out of descriptors or buffers, or a client
// gave up before its connection was accepted. A closed listener never
// passes.
func temporaryAcceptError(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, errno := range []syscall.Errno{
		syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
		syscall.EPROTO, syscall.EPERM,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// hostPort is a net.Addr for an advertised host:port, which may be a
// name that does not resolve here.
type hostPort string

func (a hostPort) Network() string { return "tcp" }
func (a hostPort) String() string  { return string(a) }
