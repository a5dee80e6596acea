package scaleout

import (
	"fmt"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// TestConsumerFailover runs three consumer processes in one group and
// kills one with SIGKILL while it holds uncommitted work: the group must
// move its partitions to the two others, and every event the ingest API
// acknowledged must be stored exactly once.
func TestConsumerFailover(t *testing.T) {
	t.Parallel()
	sfx := suffix(t)
	topic := "scaleout_failover_" + sfx
	group := "group_" + sfx
	schema, dbURL := pgSchema(t)
	db := pgConn(t, pgBase)
	const partitions = 6
	_, brokerAddr := startBroker(t, topic, partitions)
	common := []string{"--bootstrap-servers", brokerAddr, "--topic", topic, "--dlq-topic", topic + "_dlq",
		"--consumer-group", group, "--database-url", dbURL}

	consumers := make(map[string]*pulsetest.Proc)
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("consumer-%d", i)
		consumers[id] = startPulse(t, id, nil, append([]string{"consume", "--consumer-id", id}, common...)...)
	}
	_, web := startServe(t, "serve", nil, append([]string{"--consumers", "0"}, common...)...)
	before := waitAssigned(t, web, partitions, "consumer-1", "consumer-2", "consumer-3")

	var acked []string
	acked = append(acked, postBatch(t, web, 200)...)
	// Killed right after the batch is acknowledged, so consumer-2 most
	// likely dies with records fetched, processed or written but not
	// committed: they must be redelivered, and stored only once.
	consumers["consumer-2"].Kill()
	acked = append(acked, postBatch(t, web, 100)...)

	after := waitAssigned(t, web, partitions, "consumer-1", "consumer-3")
	for p, owner := range before {
		if owner == "consumer-2" {
			t.Logf("partition %d moved from consumer-2 to %s", p, after[p])
		}
	}
	acked = append(acked, postBatch(t, web, 100)...)

	pulsetest.WaitFor(t, 60*time.Second, fmt.Sprintf("%d acknowledged events stored", len(acked)), func() error {
		n, err := countEvents(db, schema)
		if err != nil {
			return err
		}
		if n < len(acked) {
			return fmt.Errorf("%d stored", n)
		}
		return nil
	})
	pulsetest.WaitFor(t, 30*time.Second, "group lag 0", func() error {
		var m consumerMetrics
		if err := getJSON(web+"/api/consumer_metrics/", &m); err != nil {
			return err
		}
		if m.TotalLag != 0 {
			return fmt.Errorf("total lag %d", m.TotalLag)
		}
		return nil
	})
	rows, stored := storedIDs(t, db, schema)
	if rows != len(acked) || len(stored) != len(acked) {
		t.Fatalf("events table: %d rows, %d distinct ids; %d events acknowledged", rows, len(stored), len(acked))
	}
	for _, id := range acked {
		if !stored[id] {
			t.Fatalf("acknowledged event %s is not stored", id)
		}
	}
	var inLog int
	if err := db.QueryRow(t.Context(), "SELECT count(DISTINCT event_id) FROM "+schema+".messages WHERE status = 'completed'").Scan(&inLog); err != nil {
		t.Fatalf("read processing log: %v", err)
	}
	if inLog != len(acked) {
		t.Fatalf("processing log has %d completed events, want %d", inLog, len(acked))
	}
}
