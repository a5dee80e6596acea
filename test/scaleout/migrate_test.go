package scaleout

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

var lagPattern = regexp.MustCompile(`lags by (\d+)`)

// groupLag runs `pulse topics describe` and returns the group's lag it
// prints.
func groupLag(t *testing.T, args ...string) (int, error) {
	t.Helper()
	out, err := runPulse(t, 30*time.Second, nil, append([]string{"topics", "describe"}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("pulse topics describe: %w\n%s", err, out)
	}
	m := lagPattern.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pulse topics describe printed no lag:\n%s", out)
	}
	return strconv.Atoi(m[1])
}

// TestMoveToCluster follows docs/production.md, "From the embedded
// defaults to a cluster": a `pulse serve` with its embedded broker stores
// events in PostgreSQL; producing stops, the lag drains to 0, serve stops;
// topics are created on the cluster (a second broker process here), and
// consumers and an API-only server start against it with the same
// database. Nothing stored before is lost, and new events join them.
func TestMoveToCluster(t *testing.T) {
	t.Parallel()
	sfx := suffix(t)
	topic := "scaleout_move_" + sfx
	group := "group_" + sfx
	schema, dbURL := pgSchema(t)
	db := pgConn(t, pgBase)
	names := []string{"--topic", topic, "--dlq-topic", topic + "_dlq", "--consumer-group", group, "--database-url", dbURL}

	// Before: everything in one process.
	single, _ := startServe(t, "serve-embedded", nil, append([]string{"--broker-addr", "127.0.0.1:0", "--consumers", "2"}, names...)...)
	embedded, _ := waitLog(t, single, "embedded broker listening", 10*time.Second)["addr"].(string)
	before := produce(t, nil, "--bootstrap-servers", embedded, "--topic", topic, "--mode", "batch", "--batch-size", "120")
	// And records without event_id from a client we did not write: their
	// ids are derived by the pipeline, and the cluster's log starts again
	// at offset 0, so ids made of topic, partition and offset alone would
	// take the new records for these and drop them.
	before += kcatKeyless(t, embedded, topic, "before", 30)

	// Drain: producing has stopped; wait until the group has stored all.
	pulsetest.WaitFor(t, 30*time.Second, "lag 0 on the embedded broker", func() error {
		lag, err := groupLag(t, "--bootstrap-servers", embedded, "--topic", topic, "--consumer-group", group)
		if err != nil {
			return err
		}
		if lag != 0 {
			return fmt.Errorf("lag %d", lag)
		}
		return nil
	})
	if err := single.Stop(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM", err)
	}
	if n, err := countEvents(db, schema); err != nil || n != before {
		t.Fatalf("after draining, %d events stored (%v), want %d", n, err, before)
	}

	// After: a cluster, topics created for it, consumers and a server.
	_, cluster := startBroker(t, "unrelated_"+sfx, 1)
	for _, tp := range []string{topic, topic + "_dlq"} {
		if out, err := runPulse(t, 30*time.Second, nil, "topics", "create", "--bootstrap-servers", cluster, "--topic", tp, "--partitions", "4"); err != nil {
			t.Fatalf("pulse topics create %s: %v\n%s", tp, err, out)
		}
	}
	for _, id := range []string{"consumer-a", "consumer-b"} {
		startPulse(t, id, nil, append([]string{"consume", "--bootstrap-servers", cluster, "--consumer-id", id}, names...)...)
	}
	_, web := startServe(t, "serve-api", nil, append([]string{"--bootstrap-servers", cluster, "--consumers", "0"}, names...)...)
	var l latest
	if err := getJSON(web+"/api/events/latest/?limit=1", &l); err != nil {
		t.Fatal(err)
	}
	if l.Stats.TotalEvents != before {
		t.Fatalf("the server on the cluster shows %d events, want the %d stored before the move", l.Stats.TotalEvents, before)
	}
	waitAssigned(t, web, 4, "consumer-a", "consumer-b")

	after := produce(t, nil, "--bootstrap-servers", cluster, "--topic", topic, "--mode", "batch", "--batch-size", "80")
	ids := postBatch(t, web, 20)
	after += kcatKeyless(t, cluster, topic, "after", 30)
	total := before + after + len(ids)
	pulsetest.WaitFor(t, 30*time.Second, fmt.Sprintf("%d events stored", total), func() error {
		n, err := countEvents(db, schema)
		if err != nil {
			return err
		}
		if n != total {
			return fmt.Errorf("%d stored", n)
		}
		return nil
	})
	if rows, stored := storedIDs(t, db, schema); rows != total || len(stored) != total {
		t.Fatalf("events table: %d rows, %d distinct ids, want %d", rows, len(stored), total)
	}
}

// kcatKeyless produces n events without event_id, and without a key, with
// Debian's kcat, and returns n.
func kcatKeyless(t *testing.T, addr, topic, tag string, n int) int {
	t.Helper()
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"user_id":"kcat_%s_%d","event_type":"page_view","element_id":"nav_%d"}`, tag, i, i))
	}
	cmd := exec.Command("kcat", "-P", "-b", addr, "-t", topic)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat (Debian's kcat is needed: apt-get install kcat): %v\n%s", err, out)
	}
	return n
}
