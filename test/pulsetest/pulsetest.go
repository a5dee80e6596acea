// Package pulsetest is test-only support for the tests that drive real
// pulse processes (test/chaos, test/adversarial, test/scaleout): it builds
// the pulse binary once for a test package, runs and stops processes with
// their output captured, and polls conditions with a deadline. Only tests
// import it (cmd/pulse's in-process tests share its Buffer).
package pulsetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Main builds the pulse binary into a temporary directory, stores its path
// in *bin, runs the package's tests and removes the directory. It returns
// the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(pulsetest.Main(m, &pulseBin)) }
func Main(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "pulse-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulsetest: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	*bin = filepath.Join(dir, "pulse")
	// A normal (not -race) binary: the processes are what a user runs,
	// and the race detector's cost would slow every process four times.
	// The import path builds it from wherever in the module the test runs.
	build := exec.Command("go", "build", "-o", *bin, "github.com/pulse-dev/pulse/cmd/pulse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "pulsetest: build pulse:", err)
		return 1
	}
	return m.Run()
}

// Buffer is a bytes.Buffer safe for a process writing and a test reading
// at the same time.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stopGrace is how long Stop waits after SIGTERM before it kills.
const stopGrace = 30 * time.Second

// Proc is one process started by a test.
type Proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	out  *Buffer // stdout and stderr, interleaved
	done chan struct{}
	err  error // valid after done is closed
}

// FastRetries is the environment of a pulse process that retries failed
// events after about 100 ms, 200 ms and 400 ms rather than pulse's default
// 1, 2 and 4 s: the suites' failing events are dead-lettered in well
// under a second, as they were written for. Every harness that starts
// pulse adds it, so no suite waits on the default.
var FastRetries = []string{"PULSE_RETRY_BASE=100ms", "PULSE_RETRY_MAX=5s"}

// Start starts cmd with its stdout and stderr captured and returns it as
// the process name. When the test ends the process is stopped (killed at
// once if the test failed: a failed test may have left it stuck, for
// instance in a group join), and the end of its output is logged if the
// test failed.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{t: t, name: name, cmd: cmd, out: &Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	// The waiter is owned by the Proc: done closes when the process
	// has exited and its output is copied.
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		_ = p.Stop()
		if t.Failed() {
			t.Logf("output of %s (%s):\n%s", name, strings.Join(cmd.Args[1:], " "), Tail(p.Logs(), 60))
		}
	})
	return p
}

// Name is the name the process was started with.
func (p *Proc) Name() string { return p.name }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error, nil before it has exited.
func (p *Proc) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL, as a crash would, and waits for the process to be
// gone.
func (p *Proc) Kill() {
	p.t.Helper()
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("%s did not die after SIGKILL", p.name)
	}
}

// Stop asks the process to shut down with SIGTERM, as Ctrl-C would, and
// kills it if it has not within 30 s. It returns the process's exit error.
func (p *Proc) Stop() error {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			p.t.Errorf("%s did not stop within %v of SIGTERM; killing it", p.name, stopGrace)
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
	return p.err
}

// Logs is everything the process wrote so far.
func (p *Proc) Logs() string { return p.out.String() }

// WaitServing waits up to 60 s until the `pulse serve` p answers on HTTP
// at addr (host:port); it fails the test if p exits first.
func (p *Proc) WaitServing(addr string) {
	p.t.Helper()
	WaitFor(p.t, 60*time.Second, p.name+" answers on HTTP", func() error {
		if p.Exited() {
			p.t.Fatalf("%s exited: %v\n%s", p.name, p.err, Tail(p.Logs(), 40))
		}
		_, err := Health(addr)
		return err
	})
}

// Health returns the status code of /api/health/ of the server at addr
// (host:port).
func Health(addr string) (int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/api/health/")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// WaitFor calls cond until it returns nil or timeout passes, then fails
// the test with cond's last error.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	// A polling interval, not synchronisation: cond decides.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// FreeAddr returns a loopback address whose port was free a moment ago,
// for processes that must come back on the same port after a restart or
// whose address the test must know before they start.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Context is a context that ends with the test or after d. Unlike
// t.Context it is still live in cleanups registered after it.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
