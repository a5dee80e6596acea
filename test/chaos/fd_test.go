package chaos

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pulse-dev/pulse/test/pulsetest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startServeLimited runs `pulse serve` with at most nofile open file
// descriptors (soft and hard: the Go runtime raises the soft limit to the
// hard one at start), through sh's ulimit.
func startServeLimited(t *testing.T, nofile int, dir, httpAddr, brokerAddr string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", httpAddr, "--broker-addr", brokerAddr, "--data-dir", dir}, extra...)
	script := fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile)
	cmd := exec.Command("sh", append([]string{"-c", script, pulseBin}, args...)...)
	cmd.Env = append(append(os.Environ(), "PULSE_LOG_FORMAT=json"), pulsetest.FastRetries...)
	s := &server{Proc: pulsetest.Start(t, "serve", cmd), http: httpAddr, broker: brokerAddr}
	s.WaitServing(httpAddr)
	return s
}

// TestFileDescriptorExhaustion exhausts the descriptors of a real `pulse
// serve` with WebSocket clients while a client connects to its embedded
// broker, then lets them go: the broker must accept again (one failed
// accept used to stop it for good: ingest 503 forever), ingest must
// work, and /api/health/ must have said Kafka was unreachable meanwhile
// (it used to ask the admin client's old connection and say healthy).
func TestFileDescriptorExhaustion(t *testing.T) {
	httpAddr, brokerAddr := pulsetest.FreeAddr(t), pulsetest.FreeAddr(t)
	// The WebSocket caps would refuse the flood before the descriptors
	// run out; lifted here to reach the broker's accept failure.
	s := startServeLimited(t, 128, t.TempDir(), httpAddr, brokerAddr,
		"--ws-max-clients", "10000", "--ws-max-clients-per-ip", "10000")
	base := "http://" + httpAddr

	// A keep-alive connection opened now still carries requests when the
	// server can no longer accept any.
	kept := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}, Timeout: 10 * time.Second}
	health := func() (int, string, error) {
		resp, err := kept.Get(base + "/api/health/")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	if code, body, err := health(); code != 200 {
		t.Fatalf("health before: %d %s %v", code, body, err)
	}

	// Open WebSockets until the server stops accepting.
	var conns []*websocket.Conn
	closeAll := func() {
		for _, c := range conns {
			c.CloseNow()
		}
		conns = nil
	}
	defer closeAll()
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatalf("1000 WebSockets accepted under a limit of 128 descriptors")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, _, err := websocket.Dial(ctx, "ws://"+httpAddr+"/ws/events/", nil)
		cancel()
		if err != nil {
			t.Logf("descriptors exhausted after %d WebSockets: %v", len(conns), err)
			break
		}
		conns = append(conns, c)
	}
	pulsetest.WaitFor(t, 15*time.Second, "the server to report exhausted descriptors", func() error {
		if !strings.Contains(s.Logs(), "too many open files") {
			return fmt.Errorf("no 'too many open files' in the log yet")
		}
		return nil
	})

	// A client connecting to the broker now makes its accept fail.
	raw, err := net.DialTimeout("tcp", brokerAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial the embedded broker while descriptors are exhausted (refused: it stopped listening): %v", err)
	}
	defer raw.Close()
	pulsetest.WaitFor(t, 15*time.Second, "the broker to try to accept", func() error {
		if strings.Contains(s.Logs(), "embedded broker cannot accept connections") {
			return nil
		}
		// kfake without the retrying listener closes it: the connection
		// waiting in the backlog is reset.
		_ = raw.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var b [1]byte
		if _, err := raw.Read(b[:]); err != nil && !isTimeout(err) {
			return nil
		}
		return fmt.Errorf("no accept failure seen yet")
	})

	// Meanwhile health must not call Kafka healthy.
	pulsetest.WaitFor(t, 20*time.Second, "health to report Kafka unreachable", func() error {
		code, body, err := health()
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, `"kafka":{"status":"unhealthy"`) {
			return fmt.Errorf("health %d %s", code, body)
		}
		return nil
	})

	closeAll()
	raw.Close()

	// A new client reaches the broker again.
	pulsetest.WaitFor(t, 30*time.Second, "a new Kafka client to reach the embedded broker", func() error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.DialTimeout(2*time.Second))
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	})
	pulsetest.WaitFor(t, 30*time.Second, "ingest and health to work again", func() error {
		resp, body := request(t, "POST", base+"/api/events/create/", `{"user_id":"u1","event_type":"page_view"}`, "Content-Type", "application/json")
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("ingest %d %s", resp.StatusCode, body)
		}
		if code, body, err := health(); code != 200 {
			return fmt.Errorf("health %d %s %v", code, body, err)
		}
		return nil
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
