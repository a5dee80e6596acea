package chaos

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// server is a `pulse serve` process and the addresses it listens on.
type server struct {
	*pulsetest.Proc
	http, broker string
}

// startServe runs `pulse serve` on dir with its HTTP API on httpAddr and,
// unless extra names --bootstrap-servers, its embedded broker on
// brokerAddr, and waits until it answers on HTTP.
func startServe(t *testing.T, dir, httpAddr, brokerAddr string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", httpAddr, "--broker-addr", brokerAddr, "--data-dir", dir}, extra...)
	s := &server{Proc: startProc(t, "serve", args...), http: httpAddr, broker: brokerAddr}
	s.WaitServing(httpAddr)
	return s
}

// health returns the status code of /api/health/.
func (s *server) health() (int, error) { return pulsetest.Health(s.http) }

// TestServeSIGKILLUnderLoad kills the whole `pulse serve` (embedded broker,
// consumers, store, HTTP) with SIGKILL under load, restarts it on the same
// data directory and port, and checks that every event the producer saw
// acknowledged is stored exactly once, and every failing event (retried
// and dead-lettered meanwhile) has exactly one dead letter, with and
// without --sync-writes.
func TestServeSIGKILLUnderLoad(t *testing.T) {
	for _, sync := range []bool{false, true} {
		name := "page-cache"
		if sync {
			name = "sync-writes"
		}
		t.Run(name, func(t *testing.T) { serveKills(t, sync) })
	}
}

func serveKills(t *testing.T, syncWrites bool) {
	kills, rate := 5, 500
	if long() {
		kills = 10
	}
	dir := t.TempDir()
	httpAddr, brokerAddr := pulsetest.FreeAddr(t), pulsetest.FreeAddr(t)
	var extra []string
	if syncWrites {
		extra = append(extra, "--sync-writes")
	}
	s := startServe(t, dir, httpAddr, brokerAddr, extra...)
	l := startLoad(t, brokerAddr, loadConfig{Rate: rate, Seed: 11})
	l.waitAcked(t, rate/2, 30*time.Second)
	fl := startFailingLoad(t, brokerAddr, 43)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	start := time.Now()
	var down time.Duration
	for i := range kills {
		wait := 500*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
		time.Sleep(wait) // the kill moment is random by design; nothing waits on it
		if s.Exited() {
			t.Fatalf("serve exited on its own: %v", s.Err())
		}
		_, before, _ := l.counts()
		s.Kill()
		killed := time.Now()
		s = startServe(t, dir, httpAddr, brokerAddr, extra...)
		down += time.Since(killed)
		t.Logf("kill %d: SIGKILL serve after %v with %d events acknowledged; back on HTTP in %v",
			i+1, wait.Round(time.Millisecond), before, time.Since(killed).Round(10*time.Millisecond))
		// Let the producer get through the restart before the next kill,
		// so every kill happens under load.
		l.waitAcked(t, before+rate/2, 60*time.Second)
	}
	failing := fl.stop()
	l.stop()
	sent, _, failed := l.counts()
	// The producer retries through a restart (its delivery timeout is
	// longer than any restart here): a failure it saw is an event the
	// restart lost at the door.
	if failed > 0 {
		e, _ := l.lastErr.Load().(string)
		t.Errorf("the producer saw %d of %d events fail across the restarts (last error %q)", failed, sent, e)
	}
	v := waitExactlyOnce(t, brokerAddr, "dashboard_consumer_group", filepath.Join(dir, "pulse.db"), l.ackedIDs(), 120*time.Second)
	drained := time.Since(l.stopped)
	n := checkDeadLetters(t, brokerAddr, filepath.Join(dir, "pulse.db"), failing)
	t.Logf("serve SIGKILL (sync-writes %v): %d kills over %v at %d events/s; sent %d, failed at the producer %d; %v; down %v in all; drained %v after the load stopped; %d failing events, %d dead letters",
		syncWrites, kills, time.Since(start).Round(time.Second), rate, sent, failed, v, down.Round(10*time.Millisecond), drained.Round(100*time.Millisecond), len(failing), n)
}
