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
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// pulseBin is the pulse binary TestMain builds once for every test.
var pulseBin string

// repoRoot is the module root, two levels above this package.
var repoRoot string

func TestMain(m *testing.M) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleout: module root:", err)
		os.Exit(1)
	}
	repoRoot = root
	os.Exit(pulsetest.Main(m, &pulseBin))
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

// baseEnv is the environment every process starts with: nothing of the
// test runner's own (a DATABASE_URL there must not leak in), JSON logs so
// the test can read addresses from them, and fast retries.
func baseEnv() []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "PULSE_LOG_FORMAT=json"}, pulsetest.FastRetries...)
}

// startPulse runs `pulse args...` with baseEnv plus env, in a temporary
// working directory (so no .env file is read). Its output is kept for
// waitLog and printed when the test fails.
func startPulse(t testing.TB, name string, env []string, args ...string) *pulsetest.Proc {
	t.Helper()
	cmd := exec.Command(pulseBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(baseEnv(), env...)
	return pulsetest.Start(t, name, cmd)
}

// waitLog waits for a JSON log line of p whose msg is msg and returns it.
// It fails the test when the process exits first.
func waitLog(t testing.TB, p *pulsetest.Proc, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	var found map[string]any
	pulsetest.WaitFor(t, timeout, fmt.Sprintf("%s logs %q", p.Name(), msg), func() error {
		for _, line := range strings.Split(p.Logs(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				found = rec
				return nil
			}
		}
		if p.Exited() {
			t.Fatalf("%s exited (%v) before logging %q:\n%s", p.Name(), p.Err(), msg, p.Logs())
		}
		return errors.New("not logged yet")
	})
	return found
}

// startBroker runs `pulse broker` on a free port with its log in a
// temporary directory and returns the process and its address.
func startBroker(t testing.TB, topic string, partitions int, extra ...string) (*pulsetest.Proc, string) {
	t.Helper()
	args := append([]string{"broker", "--broker-addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--topic", topic, "--dlq-topic", topic + "_dlq", "--partitions", fmt.Sprint(partitions)}, extra...)
	p := startPulse(t, "broker", nil, args...)
	rec := waitLog(t, p, "embedded broker listening", 30*time.Second)
	addr, _ := rec["addr"].(string)
	if addr == "" {
		t.Fatalf("broker logged no address: %v", rec)
	}
	return p, addr
}

// startServe runs `pulse serve` listening on a free port and returns the
// process and its base URL (http://host:port).
func startServe(t testing.TB, name string, env []string, args ...string) (*pulsetest.Proc, string) {
	t.Helper()
	p := startPulse(t, name, env, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)...)
	rec := waitLog(t, p, "HTTP API, WebSocket and UI listening", 60*time.Second)
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
