package chaos

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// consumers runs `pulse consume` processes that share one group and
// one database.
type consumers struct {
	t      *testing.T
	addr   string
	dbURL  string
	group  string
	procs  map[string]*pulsetest.Proc
	starts int
}

func newConsumers(t *testing.T, addr, dbURL, group string) *consumers {
	return &consumers{t: t, addr: addr, dbURL: dbURL, group: group, procs: make(map[string]*pulsetest.Proc)}
}

// start runs the consumer named id (replacing a dead one of that name).
func (c *consumers) start(id string) {
	c.t.Helper()
	c.starts++
	c.procs[id] = startProc(c.t, fmt.Sprintf("consumer %s #%d", id, c.starts), "consume",
		"--bootstrap-servers", c.addr, "--database-url", c.dbURL,
		"--consumer-group", c.group, "--consumer-id", id)
}

// ids returns the names of the consumers in a stable order.
func (c *consumers) ids() []string {
	out := make([]string, 0, len(c.procs))
	for i := range c.starts + 1 {
		id := fmt.Sprintf("c%d", i)
		if _, ok := c.procs[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

// checkAlive fails the test if a consumer the test did not kill exited,
// which would mean it crashed (for instance on SQLITE_BUSY).
func (c *consumers) checkAlive() {
	c.t.Helper()
	for id, p := range c.procs {
		if p.Exited() {
			c.t.Fatalf("consumer %s exited on its own: %v\n%s", id, p.Err(), pulsetest.Tail(p.Logs(), 40))
		}
	}
}

// TestConsumerSIGKILLUnderLoad kills a random consumer process with
// SIGKILL at random moments under a steady load and restarts it; at the
// end every acknowledged event is stored exactly once.
func TestConsumerSIGKILLUnderLoad(t *testing.T) {
	kills, rate := 12, 500
	if long() {
		kills = 40
	}
	dir := t.TempDir()
	_, addr := startBroker(t, filepath.Join(dir, "broker"))
	dbURL := filepath.Join(dir, "pulse.db")
	group := "chaos_kill"
	cs := newConsumers(t, addr, dbURL, group)
	for i := range 3 {
		cs.start(fmt.Sprintf("c%d", i))
	}
	l := startLoad(t, addr, loadConfig{Rate: rate, Seed: 7})
	l.waitAcked(t, rate/2, 30*time.Second)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	start := time.Now()
	for i := range kills {
		// A random moment within the next 0.3-1.5 s: sometimes mid-batch,
		// sometimes mid-rebalance after the previous restart.
		wait := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond)))
		time.Sleep(wait) // the kill moment is random by design; nothing waits on it
		cs.checkAlive()
		ids := cs.ids()
		id := ids[rng.IntN(len(ids))]
		cs.procs[id].Kill()
		t.Logf("kill %d: SIGKILL %s after %v", i+1, id, wait.Round(time.Millisecond))
		cs.start(id)
	}
	cs.checkAlive()
	l.stop()
	sent, _, failed := l.counts()
	if failed > 0 {
		t.Fatalf("the producer saw %d of %d events fail: %v", failed, sent, l.lastErr.Load())
	}
	v := waitExactlyOnce(t, addr, group, dbURL, l.ackedIDs(), 90*time.Second)
	t.Logf("consumer SIGKILL: %d kills over %v at %d events/s; sent %d; %v; drained %v after the load stopped",
		kills, time.Since(start).Round(time.Second), rate, sent, v, time.Since(l.stopped).Round(100*time.Millisecond))
}

// TestRebalanceStorm has consumers join and leave the group (SIGTERM, a
// graceful leave) every second or two under load, with failing events
// being retried and dead-lettered; at the end every acknowledged event is
// stored exactly once and every failing one has exactly one dead letter
// (revokes end or abort the open DLQ transaction).
func TestRebalanceStorm(t *testing.T) {
	rounds, rate := 10, 500
	if long() {
		rounds = 40
	}
	dir := t.TempDir()
	_, addr := startBroker(t, filepath.Join(dir, "broker"))
	dbURL := filepath.Join(dir, "pulse.db")
	group := "chaos_storm"
	cs := newConsumers(t, addr, dbURL, group)
	cs.start("c0") // one member stays, so the group is never empty
	l := startLoad(t, addr, loadConfig{Rate: rate, Seed: 29})
	l.waitAcked(t, rate/2, 30*time.Second)
	fl := startFailingLoad(t, addr, 41)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	start := time.Now()
	joins, leaves := 0, 0
	for range rounds {
		wait := time.Second + time.Duration(rng.Int64N(int64(time.Second)))
		time.Sleep(wait) // the moment is random by design; nothing waits on it
		cs.checkAlive()
		ids := cs.ids()
		if len(ids) < 4 && (len(ids) == 1 || rng.IntN(2) == 0) {
			id := fmt.Sprintf("c%d", cs.starts)
			cs.start(id)
			joins++
			continue
		}
		id := ids[1+rng.IntN(len(ids)-1)]
		if err := cs.procs[id].Stop(); err != nil {
			t.Errorf("consumer %s did not stop cleanly: %v", id, err)
		}
		delete(cs.procs, id)
		leaves++
	}
	failing := fl.stop()
	cs.checkAlive()
	l.stop()
	sent, _, failed := l.counts()
	if failed > 0 {
		t.Fatalf("the producer saw %d of %d events fail: %v", failed, sent, l.lastErr.Load())
	}
	v := waitExactlyOnce(t, addr, group, dbURL, l.ackedIDs(), 120*time.Second)
	drained := time.Since(l.stopped)
	n := checkDeadLetters(t, addr, dbURL, failing)
	t.Logf("rebalance storm: %d joins and %d graceful leaves over %v at %d events/s; %v; drained %v after the load stopped; %d failing events, %d dead letters",
		joins, leaves, time.Since(start).Round(time.Second), rate, v, drained.Round(100*time.Millisecond), len(failing), n)
}
