// Package chaos tries to break Pulse from the outside: it builds the pulse
// binary once, runs it as real processes on loopback (a broker, consumers,
// servers), kills them with SIGKILL under load, cuts their database and
// Redis connections, and then checks that every event the producer saw
// acknowledged is stored exactly once. docs/reliability.md reports what
// these tests measured.
package chaos

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pulseBin is the binary TestMain built.
var pulseBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pulse-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	pulseBin = filepath.Join(dir, "pulse")
	build := exec.Command("go", "build", "-o", pulseBin, "../../cmd/pulse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos: build pulse:", err)
		return 1
	}
	return m.Run()
}

// long reports whether the longer variants were asked for.
func long() bool { return os.Getenv("PULSE_CHAOS_LONG") == "1" }

// syncBuffer is a bytes.Buffer safe for a process writing and a test
// reading at the same time.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is one pulse process started by a test.
type proc struct {
	t    *testing.T
	name string
	args []string
	cmd  *exec.Cmd
	out  *syncBuffer // stdout and stderr, interleaved
	done chan struct{}
	err  error // valid after done is closed
}

// startProc runs pulse with args. The process is stopped, and its output
// logged if the test failed, when the test ends.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(pulseBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "PULSE_LOG_FORMAT=json")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	// The waiter is owned by the proc: done closes when the process
	// has exited and its output is copied.
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			// A failed test may have left the process stuck (for
			// instance in a group join); do not wait for it.
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		p.stop()
		if t.Failed() {
			t.Logf("output of %s (%s):\n%s", name, strings.Join(args, " "), tail(p.out.String(), 60))
		}
	})
	return p
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.t.Helper()
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("%s did not die after SIGKILL", p.name)
	}
}

// stop asks the process to shut down with SIGTERM and kills it if it has
// not within 30 s. It returns the process's exit error.
func (p *proc) stop() error {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.t.Errorf("%s did not stop within 30s of SIGTERM; killing it", p.name)
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
	return p.err
}

// logs is everything the process wrote so far.
func (p *proc) logs() string { return p.out.String() }

// waitFor polls cond every 50 ms until it returns nil or timeout passes,
// then fails the test with cond's last error.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

var brokerLine = regexp.MustCompile(`embedded broker listening on (\S+) `)

// startBroker runs `pulse broker` on a free port with its log in dir and
// returns the process and its address.
func startBroker(t *testing.T, dir string, extra ...string) (*proc, string) {
	t.Helper()
	args := append([]string{"broker", "--addr", "127.0.0.1:0", "--data-dir", dir}, extra...)
	p := startProc(t, "broker", args...)
	var addr string
	waitFor(t, 30*time.Second, "broker address", func() error {
		if p.exited() {
			t.Fatalf("broker exited: %v\n%s", p.err, p.logs())
		}
		m := brokerLine.FindStringSubmatch(p.logs())
		if m == nil {
			return fmt.Errorf("no address line yet")
		}
		addr = m[1]
		return nil
	})
	return p, addr
}

// freeAddr returns a loopback address whose port was free a moment ago,
// for processes that must come back on the same port after a restart.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// ctxT is a context that ends with the test or after d.
func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
