package broker

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails its first Accepts with err, then accepts from a
// real listener.
type flakyListener struct {
	net.Listener
	fails int
	err   error
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if f.fails > 0 {
		f.fails--
		return nil, f.err
	}
	return f.Listener.Accept()
}

func TestListenerRidesOutTemporaryAcceptErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED} {
		t.Run(errno.Error(), func(t *testing.T) {
			real, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			// Wrapped as net.Listen's errors are.
			accErr := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
			ln := newListener(&flakyListener{Listener: real, fails: 4, err: accErr}, nil, testLogger(t))
			defer ln.Close()
			go func() {
				c, err := net.Dial("tcp", real.Addr().String())
				if err == nil {
					defer c.Close()
					_, _ = c.Write([]byte("x"))
				}
			}()
			c, err := ln.Accept()
			if err != nil {
				t.Fatalf("Accept after %v: %v", errno, err)
			}
			c.Close()
		})
	}
}

func TestListenerReturnsOnClose(t *testing.T) {
	real, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Always failing: Accept keeps backing off until Close.
	ln := newListener(&flakyListener{Listener: real, fails: 1 << 30, err: syscall.EMFILE}, nil, testLogger(t))
	done := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	ln.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still retrying 5 s after Close")
	}
}

func TestListenerReturnsPermanentErrors(t *testing.T) {
	real, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	bad := errors.New("listener broken")
	ln := newListener(&flakyListener{Listener: real, fails: 1, err: bad}, nil, testLogger(t))
	if _, err := ln.Accept(); !errors.Is(err, bad) {
		t.Fatalf("Accept = %v, want %v", err, bad)
	}
}
