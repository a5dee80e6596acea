package scaleout

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/test/pulsetest"
)

// redisURL is this machine's Redis. Tests keep apart by topic: the live
// channel is pulse:<topic>:changes.
const redisURL = "redis://127.0.0.1:6379/0"

// consumerMetrics is the part of /api/consumer_metrics/ the tests read.
type consumerMetrics struct {
	Consumers []struct {
		ConsumerID string  `json:"consumer_id"`
		Partitions []int32 `json:"partitions"`
	} `json:"consumers"`
	Partitions []struct {
		Partition int32 `json:"partition"`
		Lag       int64 `json:"lag"`
	} `json:"partitions"`
	TotalLag int64 `json:"total_lag"`
}

// owners maps each assigned partition to its member, and fails when a
// partition has two owners.
func (m consumerMetrics) owners() (map[int32]string, error) {
	out := make(map[int32]string)
	for _, c := range m.Consumers {
		for _, p := range c.Partitions {
			if prev, ok := out[p]; ok {
				return nil, fmt.Errorf("partition %d owned by %s and %s", p, prev, c.ConsumerID)
			}
			out[p] = c.ConsumerID
		}
	}
	return out, nil
}

// waitAssigned waits until exactly the members in want own all
// partitions, each at least one, and returns the assignment.
func waitAssigned(t *testing.T, base string, partitions int, want ...string) map[int32]string {
	t.Helper()
	var owners map[int32]string
	pulsetest.WaitFor(t, 90*time.Second, fmt.Sprintf("partitions 0..%d assigned to %v", partitions-1, want), func() error {
		var m consumerMetrics
		if err := getJSON(base+"/api/consumer_metrics/", &m); err != nil {
			return err
		}
		o, err := m.owners()
		if err != nil {
			return err
		}
		if len(o) != partitions {
			return fmt.Errorf("%d of %d partitions assigned: %v", len(o), partitions, o)
		}
		members := slices.Sorted(maps.Values(o))
		members = slices.Compact(members)
		if !slices.Equal(members, slices.Sorted(slices.Values(want))) {
			return fmt.Errorf("owners %v, want %v", o, want)
		}
		owners = o
		return nil
	})
	return owners
}

// latest is the part of /api/events/latest/ the tests read.
type latest struct {
	Events []struct {
		EventID string `json:"event_id"`
	} `json:"events"`
	Stats struct {
		TotalEvents int            `json:"total_events"`
		EventTypes  map[string]int `json:"event_types"`
	} `json:"stats"`
}

var ackedPattern = regexp.MustCompile(`acknowledged (\d+), failed 0`)

// produce runs `pulse produce` with args and returns how many events the
// broker acknowledged.
func produce(t *testing.T, env []string, args ...string) int {
	t.Helper()
	out, err := runPulse(t, 60*time.Second, env, append([]string{"produce"}, args...)...)
	if err != nil {
		t.Fatalf("pulse produce %v: %v\n%s", args, err, out)
	}
	m := ackedPattern.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pulse produce printed no summary:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	if n == 0 {
		t.Fatalf("pulse produce acknowledged nothing:\n%s", out)
	}
	return n
}

// postBatch sends n events through base's ingest API and returns the
// acknowledged event ids.
func postBatch(t *testing.T, base string, n int) []string {
	t.Helper()
	events := make([]map[string]any, n)
	for i := range events {
		events[i] = map[string]any{"user_id": fmt.Sprintf("user_%d", i%17), "event_type": "button_click", "element_id": fmt.Sprintf("btn_%d", i%5)}
	}
	var res struct {
		Accepted int      `json:"accepted"`
		EventIDs []string `json:"event_ids"`
	}
	if err := postJSON(base+"/api/events/batch/", map[string]any{"events": events}, 201, &res); err != nil {
		t.Fatalf("post batch: %v", err)
	}
	if res.Accepted != n || len(res.EventIDs) != n {
		t.Fatalf("post batch of %d: accepted %d, %d ids", n, res.Accepted, len(res.EventIDs))
	}
	return res.EventIDs
}

// TestFanOut runs the scaled-out topology: one broker, three consumer
// processes in one group and two API-only servers sharing PostgreSQL and
// Redis. Every dashboard on either server must be sent every stored event
// exactly once, and both servers must report the same statistics.
func TestFanOut(t *testing.T) {
	t.Parallel()
	sfx := suffix(t)
	topic := "scaleout_fanout_" + sfx
	schema, dbURL := pgSchema(t)
	db := pgConn(t, pgBase)
	_, brokerAddr := startBroker(t, topic, 3)
	common := []string{"--bootstrap-servers", brokerAddr, "--topic", topic, "--dlq-topic", topic + "_dlq",
		"--consumer-group", "group_" + sfx, "--database-url", dbURL, "--redis-url", redisURL}

	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("consumer-%d", i)
		startPulse(t, id, nil, append([]string{"consume", "--consumer-id", id}, common...)...)
	}
	_, web1 := startServe(t, "serve-1", nil, append([]string{"--consumers", "0"}, common...)...)
	_, web2 := startServe(t, "serve-2", nil, append([]string{"--consumers", "0"}, common...)...)
	waitAssigned(t, web1, 3, "consumer-1", "consumer-2", "consumer-3")

	dashboards := []*dashboard{
		openDashboard(t, "serve-1 tab 1", web1), openDashboard(t, "serve-1 tab 2", web1),
		openDashboard(t, "serve-2 tab 1", web2), openDashboard(t, "serve-2 tab 2", web2),
	}

	// Load from both directions: the producer command straight into
	// Kafka, and the ingest API of the second server. Fewer than 200
	// events in all: a server sends a client at most 200 events per
	// 100 ms flush and samples the rest, so even if a slow machine lets
	// every event arrive in one flush, none may be dropped.
	acked := produce(t, nil, "--bootstrap-servers", brokerAddr, "--topic", topic,
		"--mode", "continuous", "--events-per-second", "80", "--duration", "2s")
	apiIDs := postBatch(t, web2, 30)
	total := acked + len(apiIDs)

	pulsetest.WaitFor(t, 60*time.Second, fmt.Sprintf("%d events stored", total), func() error {
		n, err := countEvents(db, schema)
		if err != nil {
			return err
		}
		if n != total {
			return fmt.Errorf("%d stored", n)
		}
		return nil
	})
	rows, stored := storedIDs(t, db, schema)
	if rows != total || len(stored) != total {
		t.Fatalf("events table: %d rows, %d distinct ids, want %d", rows, len(stored), total)
	}
	for _, id := range apiIDs {
		if !stored[id] {
			t.Fatalf("event %s acknowledged by the API is not stored", id)
		}
	}

	t.Logf("%d events stored (%d from pulse produce, %d from the API)", total, acked, len(apiIDs))
	for _, d := range dashboards {
		pulsetest.WaitFor(t, 30*time.Second, "every event on "+d.name, func() error { return d.check(stored) })
	}

	pulsetest.WaitFor(t, 30*time.Second, "both servers report the same statistics", func() error {
		var a, b latest
		if err := getJSON(web1+"/api/events/latest/?limit=1", &a); err != nil {
			return err
		}
		if err := getJSON(web2+"/api/events/latest/?limit=1", &b); err != nil {
			return err
		}
		if a.Stats.TotalEvents != total || b.Stats.TotalEvents != total {
			return fmt.Errorf("total_events %d and %d, want %d", a.Stats.TotalEvents, b.Stats.TotalEvents, total)
		}
		if !maps.Equal(a.Stats.EventTypes, b.Stats.EventTypes) {
			return fmt.Errorf("event_types differ: %v and %v", a.Stats.EventTypes, b.Stats.EventTypes)
		}
		return nil
	})
}
