package series

import (
	"math"
	"testing"
	"time"
)

func TestLatencyBinsAreWithinFivePercent(t *testing.T) {
	for _, ms := range []float64{1, 1.5, 8, 8.4, 14, 99, 600, 5000, 61_000, 3_600_000} {
		d := time.Duration(ms * float64(time.Millisecond))
		got := binValue(LatencyBin(d))
		if rel := math.Abs(got-ms) / ms; rel > 0.05 {
			t.Errorf("%v ms reads as %.3f ms (%.1f%% off)", ms, got, rel*100)
		}
	}
	if b := LatencyBin(-time.Second); b != 0 {
		t.Errorf("a negative latency is bin %d, want 0", b)
	}
	if b := LatencyBin(time.Duration(math.MaxInt64)); b != MaxBin {
		t.Errorf("the longest latency is bin %d, want %d", b, MaxBin)
	}
	for ms := 1.0; ms < 1e6; ms *= 1.03 {
		a, b := LatencyBin(time.Duration(ms*float64(time.Millisecond))), LatencyBin(time.Duration(ms*1.03*float64(time.Millisecond)))
		if b < a {
			t.Fatalf("bins go down: %v ms bin %d, %v ms bin %d", ms, a, ms*1.03, b)
		}
	}
}

func TestBucketOf(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 17, 900_000_000, time.UTC)
	if got, want := BucketOf(at), at.Unix()-7; got != want {
		t.Errorf("BucketOf(10:00:17.9) = %d, want %d", got, want)
	}
	if got := BucketOf(time.Unix(-3, 0)); got != -10 {
		t.Errorf("BucketOf(-3 s) = %d, want -10", got)
	}
}

func TestWindowEndsNowWithStepsOnTheGrid(t *testing.T) {
	r, err := ParseRange("1h")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 10, 0, 47, 600_000_000, time.UTC)
	from, to := r.Window(now)
	// The end of the second now is in: what was stored at 10:00:47.2 is inside.
	if want := time.Date(2026, 12, 2, 10, 0, 48, 0, time.UTC); !to.Equal(want) {
		t.Errorf("to = %v, want %v", to, want)
	}
	// The step now is in ends at 10:01:00: an hour of steps back from there.
	if want := time.Date(2026, 12, 2, 9, 1, 0, 0, time.UTC); !from.Equal(want) {
		t.Errorf("from = %v, want %v", from, want)
	}
	if v := Build(r, from, to, nil, nil); len(v.Times) != 120 || v.Times[119] != time.Date(2026, 12, 2, 10, 0, 30, 0, time.UTC).Unix() {
		t.Errorf("%d steps, last at %d", len(v.Times), v.Times[len(v.Times)-1])
	}
	// At the first instant of a step, the step is in the window (a batch
	// stored at 10:01:00.2 and read at 10:01:00.5 was left out before).
	at := time.Date(2026, 12, 2, 10, 1, 0, 500_000_000, time.UTC)
	from, to = r.Window(at)
	if v := Build(r, from, to, []Count{{Start: at.Unix(), EventType: "click", Events: 1}}, nil); v.Events["click"] == nil {
		t.Errorf("a count in the step now is in is not in the window [%v, %v)", from, to)
	}
	if _, err := ParseRange("2h"); err == nil {
		t.Error("ParseRange(2h) succeeded")
	}
}

func TestBuildCountsAndPercentiles(t *testing.T) {
	r := Range{Name: "t", Span: 30 * time.Second, Step: 10 * time.Second}
	from := time.Unix(1000, 0).UTC()
	to := from.Add(30 * time.Second)
	counts := []Count{
		{1000, "click", 3}, {1000, "click", 2}, {1010, "view", 4},
		{990, "click", 100}, {1030, "click", 100}, {1005, "click", 100}, // outside, or not a step start
	}
	// Step 1000: 90 events at 8 ms, 9 at 100 ms, 1 at 5 s.
	bins := []BinCount{
		{1000, LatencyBin(5 * time.Second), 1},
		{1000, LatencyBin(8 * time.Millisecond), 90},
		{1000, LatencyBin(100 * time.Millisecond), 9},
	}
	v := Build(r, from, to, counts, bins)
	if len(v.Times) != 3 || v.Times[0] != 1000 || v.Times[2] != 1020 {
		t.Fatalf("times = %v", v.Times)
	}
	if got := v.Events["click"]; len(got) != 3 || got[0] != 5 || got[1] != 0 || got[2] != 0 {
		t.Errorf("click = %v, want [5 0 0]", got)
	}
	if got := v.Events["view"]; got[1] != 4 {
		t.Errorf("view = %v", got)
	}
	near := func(name string, p *float64, want float64) {
		t.Helper()
		if p == nil || math.Abs(*p-want)/want > 0.05 {
			t.Errorf("%s = %v, want about %v", name, p, want)
		}
	}
	near("p50", v.Latency.P50[0], 8)
	near("p95", v.Latency.P95[0], 100)
	near("p99", v.Latency.P99[0], 100)
	if v.Latency.Samples[0] != 100 || v.Latency.P50[1] != nil {
		t.Errorf("samples = %v, p50[1] = %v", v.Latency.Samples, v.Latency.P50[1])
	}
	bins = append(bins, BinCount{1000, LatencyBin(5 * time.Second), 1}) // 2 of 101 at 5 s: the 99th is one of them
	v = Build(r, from, to, nil, bins)
	near("p99 with 2 slow", v.Latency.P99[0], 5000)
}
