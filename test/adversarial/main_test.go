// Package adversarial is the corpus of hostile and careless input Pulse
// must survive: HTTP requests against every route of a real `pulse serve`
// (each answered with its status and an error naming the problem, nothing
// produced for a refusal) and Kafka records from clients we did not write,
// Debian's kcat and Python's confluent-kafka (each stored exactly once or
// dead-lettered exactly once with its reason, never both). Cases are data:
// adding one is one line. docs/reliability.md reports what it covers.
package adversarial

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the driver of the store serve writes
	"github.com/pulse-dev/pulse/test/pulsetest"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// pulseBin is the binary TestMain built.
var pulseBin string

func TestMain(m *testing.M) { os.Exit(pulsetest.Main(m, &pulseBin)) }

// server is a `pulse serve` process and the addresses it listens on.
type server struct {
	*pulsetest.Proc
	http, broker string
	dir          string
}

// startServe runs `pulse serve` on a fresh data directory with its HTTP
// API and embedded broker on free loopback ports, and waits until it
// answers on HTTP. It is stopped, and its log shown if the test failed,
// when the test ends.
func startServe(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{dir: t.TempDir()}
	s.http, s.broker = pulsetest.FreeAddr(t), pulsetest.FreeAddr(t)
	args := append([]string{"serve", "--addr", s.http, "--broker-addr", s.broker, "--data-dir", s.dir}, extra...)
	cmd := exec.Command(pulseBin, args...)
	cmd.Env = append(append(os.Environ(), "PULSE_LOG_FORMAT=json"), pulsetest.FastRetries...)
	s.Proc = pulsetest.Start(t, "serve", cmd)
	s.WaitServing(s.http)
	return s
}

// health returns the status code of /api/health/.
func (s *server) health() (int, error) { return pulsetest.Health(s.http) }

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

// short cuts s for a log line.
func short(s string) string {
	if len(s) > 600 {
		return fmt.Sprintf("%q… (%d bytes)", s[:160], len(s))
	}
	return fmt.Sprintf("%q", s)
}
