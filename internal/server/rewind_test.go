package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/kafka"
)

// duplicates sums the records this process's members found stored
// already.
func duplicates(r *running) int64 {
	var n int64
	for _, c := range r.consumers {
		n += c.Snapshot().Duplicates
	}
	return n
}

// A rewind of the running group through the API: the dry run moves
// nothing, the real run has the two members process every record again,
// the store keeps one row per event, the lag chart has the marker and a
// reprocessed message's timeline says so. Bad requests are refused with
// the reason.
func TestRewindThroughTheAPIWhileTheGroupRuns(t *testing.T) {
	r := startOps(t, func(c *config.Config) { c.Pipeline.Consumers = 2; c.Pipeline.Simulate = false })
	evs := generate(60, 7)
	produce(t, r, evs)
	waitSettled(t, r, 60)
	url := r.url("/api/consumers/rewind/")

	for _, tc := range []struct {
		body any
		code int
		want string
	}{
		{map[string]any{"to": "soon"}, http.StatusBadRequest, `to: \"soon\" is not a target`},
		{map[string]any{"to": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, http.StatusBadRequest, "is in the future"},
		{map[string]any{"to": "earliest", "partitions": []int{9}}, http.StatusBadRequest, "has no partition 9"},
		{map[string]any{"to": "earliest", "partitions": []int{}}, http.StatusBadRequest, "partitions: empty"},
		{map[string]any{"to": "offset:0=999999"}, http.StatusBadRequest, "past the log end"},
		{map[string]any{"to": "earliest", "group": "x"}, http.StatusBadRequest, "group"},
	} {
		if code, raw := call(t, "POST", url, "", tc.body, nil); code != tc.code || !strings.Contains(raw, tc.want) {
			t.Errorf("POST %v = %d %s; want %d with %q", tc.body, code, raw, tc.code, tc.want)
		}
	}

	// The dry run reads the group's offsets afresh: once the members
	// have committed everything (and the second one has joined), it
	// gives every record back.
	var dry kafka.RewindPlan
	eventually(t, 30*time.Second, "a dry run of every record with the group stable", func() (bool, string) {
		code, raw := call(t, "POST", url, "", map[string]any{"to": "earliest", "dry_run": true}, &dry)
		return code == http.StatusOK && dry.Records == 60 && dry.State == "Stable", fmt.Sprintf("%d %s", code, raw)
	})
	if !dry.DryRun || dry.Applied || dry.Records != 60 || dry.Keys == 0 || len(dry.Partitions) != 3 || dry.Members != 2 {
		t.Fatalf("dry run = %+v", dry)
	}
	for _, p := range dry.Partitions {
		if p.Current != p.EndOffset || p.Target != 0 || p.Records != p.EndOffset {
			t.Errorf("dry run partition %+v; want current = end, target 0", p)
		}
	}
	if dups := duplicates(r); dups != 0 {
		t.Fatalf("%d duplicates after a dry run", dups)
	}

	var plan kafka.RewindPlan
	if code, raw := call(t, "POST", url, "", map[string]any{"to": "earliest"}, &plan); code != http.StatusOK {
		t.Fatalf("rewind: %d %s", code, raw)
	}
	if !plan.Applied || plan.Method != "members" || plan.Records != 60 {
		t.Fatalf("rewind = %+v", plan)
	}
	eventually(t, 30*time.Second, "60 records processed again", func() (bool, string) {
		d := duplicates(r)
		return d >= 60, fmt.Sprintf("%d duplicates", d)
	})
	waitSettled(t, r, 60)

	var hist struct {
		Markers []event.Marker `json:"markers"`
	}
	getJSON(t, r.url("/api/consumers/history/?range=15m"), &hist)
	var rewinds []event.Marker
	for _, m := range hist.Markers {
		if m.Kind == event.MarkerRewind {
			rewinds = append(rewinds, m)
		}
	}
	if len(rewinds) != 1 || !strings.Contains(rewinds[0].Detail, "60 records to process again") {
		t.Errorf("rewind markers in the history: %+v; want one, of 60 records", rewinds)
	}

	var latest struct {
		Events []event.Stored `json:"events"`
	}
	getJSON(t, r.url("/api/events/latest/"), &latest)
	if len(latest.Events) == 0 {
		t.Fatal("no events")
	}
	var tl struct {
		Stages []struct {
			Stage  string `json:"stage"`
			Detail string `json:"detail"`
		} `json:"stages"`
	}
	getJSON(t, r.url("/api/messages/"+latest.Events[0].EventID+"/"), &tl)
	last := tl.Stages[len(tl.Stages)-1]
	if last.Stage != "reprocessed" || !strings.Contains(last.Detail, "processed again after a rewind at") {
		t.Errorf("timeline stages = %+v; want it to end with the rewind", tl.Stages)
	}
}
