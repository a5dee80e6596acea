package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// committedOffsets reads group's committed offsets of user_events.
func committedOffsets(t *testing.T, adm *kadm.Client, group string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, group)
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
