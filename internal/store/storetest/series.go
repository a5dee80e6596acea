package storetest

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

// seriesNow reads the events series around now, in one step of a minute
// either side, and returns its counts per type and its latency samples.
func seriesNow(t *testing.T, s store.Store) (map[string]int64, []series.BinCount) {
	t.Helper()
	now := time.Now()
	from := time.Unix(series.BucketOf(now.Add(-time.Minute)), 0)
	counts, bins, err := s.EventSeries(t.Context(), from, from.Add(3*time.Minute), 3*time.Minute)
	if err != nil {
		t.Fatalf("EventSeries: %v", err)
	}
	byType := map[string]int64{}
	for _, c := range counts {
		if c.Start != from.Unix() {
			t.Errorf("count %+v starts at %d, not at the step %d", c, c.Start, from.Unix())
		}
		byType[c.EventType] += c.Events
	}
	return byType, bins
}

// testSeriesCountsWhatIsStored writes events, a redelivery, a reused id
// and a dead letter: only the events stored count, once.
func testSeriesCountsWhatIsStored(t *testing.T, s store.Store) {
	rec := func(id, typ string, partition int32, age time.Duration) store.Record {
		r := completed(id, typ, "el", event.SourceAPI)
		r.Event.Timestamp = time.Now().Add(-age).Truncate(time.Microsecond)
		r.Message.Partition = partition
		return r
	}
	a1, a2, b1 := rec("a1", "click", 0, 2*time.Second), rec("a2", "click", 1, 2*time.Second), rec("b1", "view", 1, 2*time.Second)
	write(t, s, a1, a2, b1, deadLettered("d1", event.SourceAPI))
	reused := rec("b1", "view", 1, time.Hour) // other content under b1's id
	reused.Event.Message = "not the same event"
	out := writeOutcomes(t, s, a1, b1, reused, rec("a3", "click", 0, 2*time.Second))
	if out[2].Conflict == "" {
		t.Fatalf("the reused id is no conflict: %+v", out)
	}

	got, bins := seriesNow(t, s)
	if want := map[string]int64{"click": 3, "view": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("events series = %v, want %v (a redelivery, a reuse or a dead letter counted?)", got, want)
	}
	var samples int64
	for _, b := range bins {
		samples += b.Events
		if b.Bin != series.LatencyBin(2*time.Second) && b.Bin != series.LatencyBin(2100*time.Millisecond) {
			t.Errorf("latency bin %d holds %d events; every event was stored about 2 s after its time (bin %d)",
				b.Bin, b.Events, series.LatencyBin(2*time.Second))
		}
	}
	if samples != 4 {
		t.Errorf("latency samples = %d, want 4", samples)
	}
}

// testSeriesOutsideRange asks for a range and a step that exclude what was
// written, and for a step too small.
func testSeriesOutsideRange(t *testing.T, s store.Store) {
	write(t, s, completed("x1", "click", "el", event.SourceAPI))
	past := time.Unix(series.BucketOf(time.Now().Add(-time.Hour)), 0)
	counts, bins, err := s.EventSeries(t.Context(), past, past.Add(10*time.Minute), time.Minute)
	if err != nil || len(counts) != 0 || len(bins) != 0 {
		t.Errorf("EventSeries an hour ago = %v, %v, %v; want nothing", counts, bins, err)
	}
	if _, _, err := s.EventSeries(t.Context(), past, past.Add(time.Minute), time.Millisecond); err == nil {
		t.Error("EventSeries with a 1 ms step succeeded")
	}
}

// testLagSeries keeps samples and reads them back per step: the highest
// lag of a step, the average rate; a sample at the same time replaces.
func testLagSeries(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Minute).UTC()
	for _, p := range []series.LagPoint{
		{T: t0, TotalLag: 5, MaxLagSeconds: 1, EventsPerSecond: 10},
		{T: t0.Add(5 * time.Second), TotalLag: 50, MaxLagSeconds: 0.5, EventsPerSecond: 30},
		{T: t0.Add(10 * time.Second), TotalLag: 1, MaxLagSeconds: 2, EventsPerSecond: 99},
		{T: t0.Add(10 * time.Second), TotalLag: 7, MaxLagSeconds: 3, EventsPerSecond: 20}, // replaces the one before
		{T: t0.Add(70 * time.Second), TotalLag: 9, MaxLagSeconds: 4, EventsPerSecond: 40},
	} {
		if err := s.WriteLag(ctx, p); err != nil {
			t.Fatalf("WriteLag: %v", err)
		}
	}
	got, err := s.LagSeries(ctx, t0, t0.Add(3*time.Minute), time.Minute)
	if err != nil {
		t.Fatalf("LagSeries: %v", err)
	}
	want := []series.LagPoint{
		{T: t0, TotalLag: 50, MaxLagSeconds: 3, EventsPerSecond: 20},
		{T: t0.Add(time.Minute), TotalLag: 9, MaxLagSeconds: 4, EventsPerSecond: 40},
	}
	if len(got) != len(want) {
		t.Fatalf("LagSeries = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.T.Equal(w.T) || g.TotalLag != w.TotalLag || g.MaxLagSeconds != w.MaxLagSeconds ||
			math.Abs(g.EventsPerSecond-w.EventsPerSecond) > 1e-9 {
			t.Errorf("point %d = %+v, want %+v", i, g, w)
		}
	}
	if got, err := s.LagSeries(ctx, t0.Add(2*time.Minute), t0.Add(3*time.Minute), time.Minute); err != nil || len(got) != 0 {
		t.Errorf("LagSeries of a span without samples = %+v, %v", got, err)
	}
}

// testMarkersKept keeps markers once and reads the newest, oldest first.
func testMarkersKept(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	ms := []event.Marker{
		{T: t0, Kind: event.MarkerRebalance, Detail: "member joined"},
		{T: t0.Add(time.Second), Kind: event.MarkerDLQBurst, Detail: "12 dead letters in 10s"},
		{T: t0.Add(2 * time.Second), Kind: event.MarkerCommitStall, Detail: "no commit for 30s"},
	}
	if err := s.WriteMarkers(ctx, ms[:2]); err != nil {
		t.Fatalf("WriteMarkers: %v", err)
	}
	if err := s.WriteMarkers(ctx, ms[1:]); err != nil {
		t.Fatalf("WriteMarkers again: %v", err)
	}
	got, err := s.Markers(ctx, t0, t0.Add(time.Minute), 10)
	if err != nil || !reflect.DeepEqual(got, ms) {
		t.Errorf("Markers = %+v, %v; want %+v", got, err, ms)
	}
	got, err = s.Markers(ctx, t0, t0.Add(time.Minute), 2)
	if err != nil || !reflect.DeepEqual(got, ms[1:]) {
		t.Errorf("Markers(limit 2) = %+v, %v; want the newest two %+v", got, err, ms[1:])
	}
}

// testSeriesRetention keeps series for series.Keep whatever the events'
// policy, and no longer.
func testSeriesRetention(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := time.Now().Add(-series.Keep - time.Hour).Truncate(time.Second).UTC()
	young := time.Now().Add(-series.Keep + time.Hour).Truncate(time.Second).UTC()
	for _, at := range []time.Time{old, young} {
		if err := s.WriteLag(ctx, series.LagPoint{T: at, TotalLag: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteMarkers(ctx, []event.Marker{{T: at, Kind: event.MarkerRebalance, Detail: "d"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Retain(ctx, store.Retention{}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	from, to := old.Add(-time.Hour), young.Add(time.Hour)
	lag, err := s.LagSeries(ctx, from, to, time.Minute)
	if err != nil || len(lag) != 1 || lag[0].T.After(young) || young.Sub(lag[0].T) >= time.Minute {
		t.Errorf("lag after Retain = %+v, %v; want only the young sample", lag, err)
	}
	ms, err := s.Markers(ctx, from, to, 10)
	if err != nil || len(ms) != 1 || !ms[0].T.Equal(young) {
		t.Errorf("markers after Retain = %+v, %v; want only the young one", ms, err)
	}
}

// testReplays remembers replayed dead letters per DLQ topic, keeps the
// first time, and forgets them after store.ReplayKeep.
func testReplays(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	if err := s.MarkReplayed(ctx, "dlq", []string{"0:1", "2:7"}, t0); err != nil {
		t.Fatalf("MarkReplayed: %v", err)
	}
	if err := s.MarkReplayed(ctx, "dlq", []string{"0:1"}, t0.Add(time.Minute)); err != nil {
		t.Fatalf("MarkReplayed again: %v", err)
	}
	if err := s.MarkReplayed(ctx, "other_dlq", []string{"1:1"}, t0); err != nil {
		t.Fatal(err)
	}
	ids := []string{"0:1", "1:1", "2:7", "9:9"}
	for i := range 1200 { // more than one lookup's chunk
		ids = append(ids, fmt.Sprintf("5:%d", i))
	}
	got, err := s.Replayed(ctx, "dlq", ids)
	want := map[string]time.Time{"0:1": t0, "2:7": t0}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Replayed = %v, %v; want %v", got, err, want)
	}
	if err := s.MarkReplayed(ctx, "dlq", []string{"3:3"}, time.Now().Add(-store.ReplayKeep-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retain(ctx, store.Retention{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Replayed(ctx, "dlq", []string{"0:1", "3:3"}); err != nil || len(got) != 1 {
		t.Errorf("after Retain: %v, %v; want only 0:1", got, err)
	}
}
