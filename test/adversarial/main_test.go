// Package adversarial is the corpus of hostile and careless input Pulse
// must survive: HTTP requests against every route of a real `pulse serve`
// (each answered with its status and an error naming the problem, nothing
// produced for a refusal) and Kafka records from clients we did not write,
// Debian's kcat and Python's confluent-kafka (each stored exactly once or
// dead-lettered exactly once with its reason, never both). Cases are data:
// adding one is one line. docs/reliability.md reports what it covers.
package adversarial

import (
	"bytes"
	"context"
	"database/sql"
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

	_ "github.com/mattn/go-sqlite3" // the driver of the store serve writes
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// pulseBin is the binary TestMain built.
var pulseBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pulse-adversarial-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "adversarial: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	pulseBin = filepath.Join(dir, "pulse")
	build := exec.Command("go", "build", "-o", pulseBin, "../../cmd/pulse")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "adversarial: build pulse:", err)
		return 1
	}
	return m.Run()
}

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

// server is a `pulse serve` process and the addresses it listens on.
type server struct {
	cmd          *exec.Cmd
	out          *syncBuffer
	done         chan struct{}
	err          error // valid after done is closed
	http, broker string
	dir          string
}

// startServe runs `pulse serve` on a fresh data directory with its HTTP
// API and embedded broker on free loopback ports, and waits until it
// answers on HTTP. It is stopped, and its log shown if the test failed,
// when the test ends.
func startServe(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{out: &syncBuffer{}, done: make(chan struct{}), dir: t.TempDir()}
	s.http, s.broker = freeAddr(t), freeAddr(t)
	args := append([]string{"serve", "--addr", s.http, "--broker-addr", s.broker, "--data-dir", s.dir}, extra...)
	s.cmd = exec.Command(pulseBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.Env = append(os.Environ(), "PULSE_LOG_FORMAT=json")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop within 30s of SIGTERM; killing it")
			_ = s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.done
		}
		if t.Failed() {
			t.Logf("output of serve (%s):\n%s", strings.Join(args, " "), tail(s.out.String(), 60))
		}
	})
	waitFor(t, 60*time.Second, "serve answers on HTTP", func() error {
		if s.exited() {
			t.Fatalf("serve exited: %v\n%s", s.err, tail(s.out.String(), 40))
		}
		_, err := s.health()
		return err
	})
	return s
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// health returns the status code of /api/health/.
func (s *server) health() (int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + s.http + "/api/health/")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// db opens the store serve writes, read-only.
func (s *server) db(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(s.dir, "pulse.db")+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// kafka returns a client and an admin client of serve's embedded broker.
func (s *server) kafka(t *testing.T, opts ...kgo.Opt) (*kgo.Client, *kadm.Client) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.broker)}, opts...)...)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

// endOffset is the sum of the end offsets of topic's partitions.
func endOffset(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	if err := ends.Error(); err != nil {
		return 0, err
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n, nil
}

// groupLag is the consumer group's lag on topic, per partition.
func groupLag(ctx context.Context, adm *kadm.Client, group, topic string) (map[int32]int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, err
	}
	lag := make(map[int32]int64)
	ends.Each(func(o kadm.ListedOffset) {
		c, ok := committed.Lookup(topic, o.Partition)
		at := int64(0)
		if ok && c.At >= 0 {
			at = c.At
		}
		lag[o.Partition] = o.Offset - at
	})
	return lag, nil
}

func totalLag(lag map[int32]int64) int64 {
	var n int64
	for _, l := range lag {
		n += l
	}
	return n
}

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

// freeAddr returns a loopback address whose port was free a moment ago.
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

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// short cuts s for a log line.
func short(s string) string {
	if len(s) > 600 {
		return fmt.Sprintf("%q… (%d bytes)", s[:160], len(s))
	}
	return fmt.Sprintf("%q", s)
}
