package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/store/sqlite"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// committedOffsets reads group's committed offsets of user_events.
func committedOffsets(t *testing.T, adm *kadm.Client, group string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{} // not joined yet
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == "user_events" {
			out[o.Partition] = o.At
		}
	})
	return out
}

func TestTopicsRewind(t *testing.T) {
	addr := startBroker(t)
	bs := []string{"--bootstrap-servers", addr}
	if code, out, stderr := pulse(t, append([]string{"produce", "--mode", "batch", "--batch-size", "30"}, bs...)...); code != 0 {
		t.Fatalf("produce: exit %d\n%s%s", code, out, stderr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, "user_events")
	if err != nil {
		t.Fatal(err)
	}
	// The group read everything and stopped.
	var os kadm.Offsets
	ends.Each(func(o kadm.ListedOffset) { os.AddOffset("user_events", o.Partition, o.Offset, -1) })
	if resp, err := adm.CommitOffsets(ctx, "g", os); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	before := committedOffsets(t, adm, "g")

	code, out, stderr := pulse(t, append([]string{"topics", "rewind", "--consumer-group", "g", "--to", "earliest", "--partitions", "0,2", "--dry-run"}, bs...)...)
	if code != 0 || !strings.Contains(out, "dry run: would rewind group g on user_events to earliest") ||
		!regexp.MustCompile(`(?m)^\s+0\s+\d+\s+0\s+\d+\s+\d+\s+0\s+-$`).MatchString(out) || strings.Contains(out, "\n        1 ") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	if got := committedOffsets(t, adm, "g"); got[0] != before[0] {
		t.Fatalf("the dry run moved offsets: %v, was %v", got, before)
	}

	// Refusals exit 1 (2 for a target that does not parse) with the reason.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--consumer-group", "nobody", "--to", "earliest"}, 1, "consumer group nobody is unknown"},
		{[]string{"--consumer-group", "g", "--to", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 1, "is in the future"},
		{[]string{"--consumer-group", "g", "--to", "earliest", "--partitions", "7"}, 1, "user_events has no partition 7"},
		{[]string{"--consumer-group", "g", "--to", "offset:999999"}, 1, "past the log end"},
		{[]string{"--consumer-group", "g", "--to", "yesterday"}, 2, `to: "yesterday" is not a target`},
	} {
		code, _, stderr := pulse(t, append(append([]string{"topics", "rewind"}, tc.args...), bs...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("rewind %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}

	// The seed's --action spelling, a real run, per-partition offsets.
	code, out, stderr = pulse(t, append([]string{"topics", "--action", "rewind", "--consumer-group", "g", "--to", "offset:0=1,2=0"}, bs...)...)
	if code != 0 || !strings.Contains(out, "rewound group g") || !strings.Contains(out, "offsets committed (the group has no members)") {
		t.Fatalf("rewind: exit %d\n%s%s", code, out, stderr)
	}
	got := committedOffsets(t, adm, "g")
	if got[0] != 1 || got[1] != before[1] || got[2] != 0 {
		t.Errorf("committed after the rewind = %v; want 0:1, 1:%d, 2:0", got, before[1])
	}
}

// Two `pulse consume` members of one group, each with its own clients as
// two processes have, sharing one SQLite file: `pulse topics rewind` moves
// the running group through them, every record is processed again, the
// store keeps one row each, and librdkafka (confluent_kafka) reads the
// group's committed offsets back at the log end afterwards.
func TestTopicsRewindTwoRunningConsumers(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Fatal("python3 with confluent_kafka is needed")
	}
	addr := startBroker(t)
	bs := []string{"--bootstrap-servers", addr}
	dir := t.TempDir()
	if code, out, stderr := pulse(t, append([]string{"produce", "--mode", "batch", "--batch-size", "40"}, bs...)...); code != 0 {
		t.Fatalf("produce: exit %d\n%s%s", code, out, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, id := range []string{"c1", "c2"} {
		wg.Go(func() {
			var out, errOut strings.Builder
			if code := run(ctx, append([]string{"consume", "--consumer-id", id, "--data-dir", dir, "--simulate=false"}, bs...), &out, &errOut); code != 0 {
				t.Errorf("consume %s: exit %d\n%s", id, code, errOut.String())
			}
		})
	}
	defer wg.Wait()
	defer cancel()

	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	caughtUp := func() bool {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ends, err := adm.ListEndOffsets(c, "user_events")
		if err != nil {
			return false
		}
		got := committedOffsets(t, adm, "dashboard_consumer_group")
		ok := true
		ends.Each(func(o kadm.ListedOffset) { ok = ok && got[o.Partition] == o.Offset })
		return ok
	}
	members := func() int {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d, err := adm.DescribeGroups(c, "dashboard_consumer_group")
		if err != nil {
			return 0
		}
		g := d["dashboard_consumer_group"]
		if g.State != "Stable" {
			return 0
		}
		return len(g.Members)
	}
	pulsetest.WaitFor(t, 30*time.Second, "both members stable and every record committed", func() error {
		if n := members(); n != 2 || !caughtUp() {
			return fmt.Errorf("%d stable members, caught up %v", n, caughtUp())
		}
		return nil
	})
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events := func() int64 {
		tot, err := db.Totals(t.Context(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return tot.Events
	}
	if n := events(); n != 40 {
		t.Fatalf("%d events stored, want 40", n)
	}

	code, out, stderr := pulse(t, append([]string{"topics", "rewind", "--consumer-group", "dashboard_consumer_group", "--to", "earliest"}, bs...)...)
	if code != 0 || !strings.Contains(out, "40 records to process again") || !strings.Contains(out, "moved by the group's members") {
		t.Fatalf("rewind: exit %d\n%s%s", code, out, stderr)
	}
	pulsetest.WaitFor(t, 30*time.Second, "the 40 records processed again", func() error {
		if !caughtUp() {
			return errors.New("not caught up")
		}
		return nil
	})
	if n := events(); n != 40 {
		t.Errorf("%d events stored after the rewind, want 40", n)
	}
	// Reads the group's committed offsets without joining it.
	script := `
import json, sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "enable.auto.commit": False})
tps = c.committed([TopicPartition("user_events", p) for p in range(3)], timeout=10)
c.close()
print(json.dumps({str(tp.partition): tp.offset for tp in tps}))
`
	raw, err := exec.CommandContext(t.Context(), py, "-c", script, addr, "dashboard_consumer_group").CombinedOutput()
	if err != nil {
		t.Fatalf("confluent_kafka: %v: %s", err, raw)
	}
	var got map[string]int64
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("confluent_kafka output %q: %v", raw, err)
	}
	ours := committedOffsets(t, adm, "dashboard_consumer_group")
	var sum int64
	for p, o := range ours {
		sum += o
		if got[strconv.Itoa(int(p))] != o {
			t.Errorf("confluent_kafka reads partition %d committed at %d, franz-go at %d", p, got[strconv.Itoa(int(p))], o)
		}
	}
	if sum != 40 {
		t.Errorf("committed offsets %v sum to %d, want the 40 records", ours, sum)
	}
}
