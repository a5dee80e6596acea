package kafka

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/broker"
)

func TestParseTarget(t *testing.T) {
	at := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want Target
	}{
		{"earliest", Target{Kind: ToEarliest}},
		{" latest ", Target{Kind: ToLatest}},
		{"2026-12-01T14:00:00Z", Target{Kind: ToTime, Time: at}},
		{"2026-12-01T15:00:00+01:00", Target{Kind: ToTime, Time: at}},
		{"offset:42", Target{Kind: ToOffset, Offset: 42}},
		{"offset:0=5,2=7", Target{Kind: ToOffset, Offsets: map[int32]int64{0: 5, 2: 7}}},
	} {
		got, err := ParseTarget(tc.in)
		if err != nil || got.Kind != tc.want.Kind || !got.Time.Equal(tc.want.Time) || got.Offset != tc.want.Offset || fmt.Sprint(got.Offsets) != fmt.Sprint(tc.want.Offsets) {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if s := (Target{Kind: ToOffset, Offsets: map[int32]int64{2: 7, 0: 5}}).String(); s != "offset:0=5,2=7" {
		t.Errorf("String = %q", s)
	}
	for _, in := range []string{"", "yesterday", "offset:", "offset:-1", "offset:x", "offset:0=1,0=2", "offset:0=", "offset:-1=3", "2026-12-01 14:00"} {
		_, err := ParseTarget(in)
		var re *RewindError
		if !errors.As(err, &re) || !strings.HasPrefix(re.Msg, "to:") {
			t.Errorf("ParseTarget(%q) = %v; want a RewindError about to", in, err)
		}
	}
	if _, err := ParsePartitions("0, x"); err == nil {
		t.Error("ParsePartitions accepted x")
	}
	if ps, err := ParsePartitions("0,2"); err != nil || fmt.Sprint(ps) != "[0 2]" {
		t.Errorf("ParsePartitions(0,2) = %v, %v", ps, err)
	}
}

// rewindWorld is a broker with records on partition 0 written an hour
// apart (t0, t0+1h, t0+2h, t0+3h), 2 records on partition 1, and group g
// committed to the end.
func rewindWorld(t *testing.T) (*Admin, *kadm.Client, time.Time) {
	t.Helper()
	cfg := startBroker(t, broker.Config{Topics: []broker.Topic{{Name: "user_events", Partitions: 2}}})
	adm, err := NewAdmin(cfg.Kafka, testLog(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(adm.Close)
	opts, _ := ClientOpts(cfg.Kafka)
	cl, err := kgo.NewClient(append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	t0 := time.Now().Add(-4 * time.Hour).Truncate(time.Second)
	var rs []*kgo.Record
	for i := range 4 {
		rs = append(rs, &kgo.Record{Topic: "user_events", Partition: 0, Key: fmt.Appendf(nil, "k%d", i%2), Value: []byte("{}"), Timestamp: t0.Add(time.Duration(i) * time.Hour)})
	}
	for i := range 2 {
		rs = append(rs, &kgo.Record{Topic: "user_events", Partition: 1, Value: fmt.Appendf(nil, `{"user_id":"u%d","event_type":"page_view"}`, i), Timestamp: t0})
	}
	ctx := testCtx(t)
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	kadmc := kadm.NewClient(cl)
	var os kadm.Offsets
	os.AddOffset("user_events", 0, 4, -1)
	os.AddOffset("user_events", 1, 2, -1)
	if resp, err := kadmc.CommitOffsets(ctx, "g", os); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	return adm, kadmc, t0
}

func TestPlanRewind(t *testing.T) {
	adm, _, t0 := rewindWorld(t)
	ctx := testCtx(t)
	plan, err := adm.PlanRewind(ctx, RewindRequest{Group: "g", Topic: "user_events", To: Target{Kind: ToTime, Time: t0.Add(90 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	// Partition 0: the first record at or after t0+90m is offset 2.
	// Partition 1: both records are older: nothing to process again.
	p0, p1 := plan.Partitions[0], plan.Partitions[1]
	if p0.Current != 4 || p0.Target != 2 || p0.Records != 2 || p0.Keys != 2 || p1.Target != 2 || p1.Records != 0 ||
		plan.Records != 2 || plan.Keys != 2 || plan.KeysLowerBound || !plan.DryRun || plan.State != "Empty" {
		t.Errorf("plan = %+v", plan)
	}

	plan, err = adm.PlanRewind(ctx, RewindRequest{Group: "g", Topic: "user_events", To: Target{Kind: ToEarliest}, Partitions: []int32{1}})
	if err != nil {
		t.Fatal(err)
	}
	// Keyless records count under user_id:event_type.
	if len(plan.Partitions) != 1 || plan.Records != 2 || plan.Keys != 2 {
		t.Errorf("plan of partition 1 = %+v; want 2 records, 2 keys", plan)
	}

	plan, err = adm.PlanRewind(ctx, RewindRequest{Group: "g", Topic: "user_events", To: Target{Kind: ToEarliest}, KeyScanLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Records != 6 || !plan.KeysLowerBound || plan.Keys > 3 {
		t.Errorf("plan with a scan limit of 3 = %+v; want 6 records and a lower bound of keys", plan)
	}
}

func TestRewindRefusals(t *testing.T) {
	adm, kadmc, t0 := rewindWorld(t)
	ctx := testCtx(t)
	// Records before offset 1 of partition 0 are deleted: the retained
	// log starts at 1, written at t0+1h.
	var del kadm.Offsets
	del.AddOffset("user_events", 0, 1, -1)
	if resp, err := kadmc.DeleteRecords(ctx, del); err != nil || resp.Error() != nil {
		t.Fatalf("delete records: %v %v", err, resp.Error())
	}
	for _, tc := range []struct {
		name     string
		req      RewindRequest
		want     string
		notFound bool
	}{
		{"unknown group", RewindRequest{Group: "nobody", To: Target{Kind: ToEarliest}}, "consumer group nobody is unknown", true},
		{"future", RewindRequest{Group: "g", To: Target{Kind: ToTime, Time: time.Now().Add(time.Hour)}}, "is in the future", false},
		{"offset before the log start", RewindRequest{Group: "g", To: Target{Kind: ToOffset, Offset: 0}}, "offset 0 of partition 0 is outside the retained log: it starts at offset 1", false},
		{"offset past the end", RewindRequest{Group: "g", To: Target{Kind: ToOffset, Offsets: map[int32]int64{1: 3}}}, "offset 3 of partition 1 is past the log end, offset 2", false},
		{"time before the retained log", RewindRequest{Group: "g", To: Target{Kind: ToTime, Time: t0.Add(30 * time.Minute)}, Partitions: []int32{0}}, "is outside the retained log: partition 0 starts at offset 1", false},
		{"no such partition", RewindRequest{Group: "g", To: Target{Kind: ToEarliest}, Partitions: []int32{0, 5}}, "user_events has no partition 5", false},
		{"partition twice", RewindRequest{Group: "g", To: Target{Kind: ToEarliest}, Partitions: []int32{1, 1}}, "partition 1 is given twice", false},
		{"partitions with per-partition offsets", RewindRequest{Group: "g", To: Target{Kind: ToOffset, Offsets: map[int32]int64{1: 0}}, Partitions: []int32{1}}, "not with offset:P=N", false},
		{"no topic", RewindRequest{Group: "g", Topic: "nope", To: Target{Kind: ToEarliest}}, "topic nope does not exist", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.Topic == "" {
				tc.req.Topic = "user_events"
			}
			_, err := adm.PlanRewind(ctx, tc.req)
			var re *RewindError
			if !errors.As(err, &re) || !strings.Contains(re.Msg, tc.want) || re.NotFound != tc.notFound {
				t.Fatalf("PlanRewind = %v; want a RewindError with %q (not found %v)", err, tc.want, tc.notFound)
			}
			if _, err := adm.Rewind(ctx, tc.req, time.Second); !errors.As(err, &re) {
				t.Errorf("Rewind = %v; want the same refusal", err)
			}
		})
	}
	// Nothing moved.
	resp, err := kadmc.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := resp.Lookup("user_events", 0); o.At != 4 {
		t.Errorf("partition 0 committed %d after refusals, want 4", o.At)
	}
}

// A group without members is rewound by committing its offsets; a time
// within the retained log after records were deleted is accepted.
func TestRewindEmptyGroup(t *testing.T) {
	adm, kadmc, t0 := rewindWorld(t)
	ctx := testCtx(t)
	plan, err := adm.Rewind(ctx, RewindRequest{Group: "g", Topic: "user_events", To: Target{Kind: ToTime, Time: t0.Add(time.Hour)}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Applied || plan.DryRun || plan.Method != "commit" || plan.Records != 3 || plan.AppliedAt == nil {
		t.Errorf("rewind = %+v", plan)
	}
	resp, err := kadmc.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	o0, _ := resp.Lookup("user_events", 0)
	o1, _ := resp.Lookup("user_events", 1)
	if o0.At != 1 || o1.At != 2 {
		t.Errorf("committed after the rewind: %d, %d; want 1, 2", o0.At, o1.At)
	}
	// Latest moves forward: records skipped, none processed again.
	plan, err = adm.Rewind(ctx, RewindRequest{Group: "g", Topic: "user_events", To: Target{Kind: ToLatest}}, 0)
	if err != nil || plan.Records != 0 || plan.Skipped != 3 {
		t.Errorf("rewind to latest = %+v, %v; want 3 skipped", plan, err)
	}
}
