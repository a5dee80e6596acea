package scaleout

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pulseBin is the pulse binary TestMain builds once for every test.
var pulseBin string

// repoRoot is the module root, two levels above this package.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pulse-scaleout-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleout: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if repoRoot, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		fmt.Fprintln(os.Stderr, "scaleout: module root:", err)
		return 1
	}
	pulseBin = filepath.Join(dir, "pulse")
	// A normal (not -race) binary: the processes are what a user runs,
	// and the race detector's cost would slow every process four times.
	build := exec.Command("go", "build", "-o", pulseBin, "./cmd/pulse")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "scaleout: build pulse:", err)
		return 1
	}
	return m.Run()
}

// suffix returns a short random lower-case hex string that keeps schema,
// topic and Redis channel names of one test apart from every other.
func suffix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random suffix: %v", err)
	}
	return hex.EncodeToString(b)
}

// waitFor polls cond every 50 ms until it returns nil or timeout passes,
// then fails the test with cond's last error.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %s: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// lineLog collects a process's output lines, safe for concurrent use: the
// exec package copies stdout and stderr into it from its own goroutines.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	file    io.Writer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Write(p)
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(p), nil
}

func (l *lineLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// proc is a pulse process the test started. Cleanup stops it.
type proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	out  *lineLog
	done chan struct{}
	err  error // set before done closes
}

// baseEnv is the environment every process starts with: nothing of the
// test runner's own (a DATABASE_URL there must not leak in), JSON logs so
// the test can read addresses from them.
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "PULSE_LOG_FORMAT=json"}
}

// startPulse runs `pulse args...` with baseEnv plus env, in a temporary
// working directory (so no .env file is read). Its output is kept for
// waitLog and written to <name>.log in the test's temp dir; the output is
// printed when the test fails.
func startPulse(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatalf("log file for %s: %v", name, err)
	}
	p := &proc{t: t, name: name, out: &lineLog{file: f}, done: make(chan struct{})}
	p.cmd = exec.Command(pulseBin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(baseEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		f.Close()
		if t.Failed() {
			t.Logf("--- output of %s (%s):\n%s", name, strings.Join(args, " "), strings.Join(p.out.snapshot(), "\n"))
		}
	})
	return p
}

// stop interrupts the process like Ctrl-C and waits for it; after 20 s it
// is killed.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Errorf("%s did not stop within 20s of SIGTERM; killing it", p.name)
		p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// output returns everything the process printed so far.
func (p *proc) output() string { return strings.Join(p.out.snapshot(), "\n") }

// waitLog waits for a JSON log line whose msg is msg and returns it. It
// fails the test when the process exits first.
func (p *proc) waitLog(msg string, timeout time.Duration) map[string]any {
	p.t.Helper()
	var found map[string]any
	waitFor(p.t, timeout, fmt.Sprintf("%s logs %q", p.name, msg), func() error {
		for _, line := range p.out.snapshot() {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				found = rec
				return nil
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before logging %q:\n%s", p.name, p.err, msg, p.output())
		default:
		}
		return errors.New("not logged yet")
	})
	return found
}

// startBroker runs `pulse broker` on a free port with its log in a
// temporary directory and returns the process and its address.
func startBroker(t testing.TB, topic string, partitions int, extra ...string) (*proc, string) {
	t.Helper()
	args := append([]string{"broker", "--broker-addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--topic", topic, "--dlq-topic", topic + "_dlq", "--partitions", fmt.Sprint(partitions)}, extra...)
	p := startPulse(t, "broker", nil, args...)
	rec := p.waitLog("embedded broker listening", 30*time.Second)
	addr, _ := rec["addr"].(string)
	if addr == "" {
		t.Fatalf("broker logged no address: %v", rec)
	}
	return p, addr
}

// startServe runs `pulse serve` listening on a free port and returns the
// process and its base URL (http://host:port).
func startServe(t testing.TB, name string, env []string, args ...string) (*proc, string) {
	t.Helper()
	p := startPulse(t, name, env, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)...)
	rec := p.waitLog("HTTP API, WebSocket and UI listening", 60*time.Second)
	addr, _ := rec["addr"].(string)
	if addr == "" {
		t.Fatalf("%s logged no address: %v", name, rec)
	}
	return p, "http://" + addr
}

// runPulse runs a pulse command to completion (at most timeout) and
// returns its combined output and error.
func runPulse(t testing.TB, timeout time.Duration, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pulseBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(baseEnv(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("pulse %s: still running after %s:\n%s", strings.Join(args, " "), timeout, out)
	}
	return string(out), err
}

// getJSON GETs url and decodes the JSON answer into v.
func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", url, err)
	}
	return nil
}

// postJSON POSTs body as JSON to url, expects want, and decodes the
// answer into v.
func postJSON(url string, body any, want int, v any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, out)
	}
	return json.Unmarshal(out, v)
}

// pgBase is this machine's PostgreSQL test database.
const pgBase = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// pgConn connects to url for the test's own queries.
func pgConn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to PostgreSQL %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// pgSchema creates a schema no other test uses and returns a database URL
// whose search_path selects it (pgx sends unknown URL parameters as
// run-time parameters), so every pulse process given the URL keeps its
// tables there. The schema is dropped when the test ends.
func pgSchema(t testing.TB) (schema, url string) {
	t.Helper()
	schema = "scaleout_" + suffix(t)
	conn := pgConn(t, pgBase)
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema, pgBase + "&search_path=" + schema
}

// storedIDs returns how many rows the events table of schema holds and
// its distinct event ids.
func storedIDs(t testing.TB, conn *pgx.Conn, schema string) (rows int, ids map[string]bool) {
	t.Helper()
	ids = make(map[string]bool)
	res, err := conn.Query(context.Background(), "SELECT event_id FROM "+schema+".events")
	if err != nil {
		t.Fatalf("read events of %s: %v", schema, err)
	}
	defer res.Close()
	for res.Next() {
		var id string
		if err := res.Scan(&id); err != nil {
			t.Fatalf("read events of %s: %v", schema, err)
		}
		rows++
		ids[id] = true
	}
	if err := res.Err(); err != nil {
		t.Fatalf("read events of %s: %v", schema, err)
	}
	return rows, ids
}

// countEvents returns the number of rows in schema's events table.
func countEvents(conn *pgx.Conn, schema string) (int, error) {
	var n int
	err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".events").Scan(&n)
	return n, err
}
