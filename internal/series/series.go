// Package series defines the time series the dashboard's charts load: the
// events stored per type and their end-to-end latency, kept by the store in
// fixed buckets written with each batch, and the consumer group's lag,
// sampled by the monitor. Buckets are written once per batch, whatever its
// size, and read by range, so neither side grows with the table.
package series

import (
	"fmt"
	"math"
	"time"
)

// Bucket is the width of the buckets the store keeps: the finest step a
// chart can ask for.
const Bucket = 10 * time.Second

// Keep is how long the series are kept; the store deletes older buckets
// whatever the events' own retention (a count is not personal data).
const Keep = 8 * 24 * time.Hour

// BucketOf returns the start, in Unix seconds, of the bucket holding t.
func BucketOf(t time.Time) int64 {
	s := t.Unix()
	b := int64(Bucket / time.Second)
	return s - mod(s, b)
}

func mod(a, b int64) int64 { return ((a % b) + b) % b }

// The latency histogram: bin 0 holds latencies under 1 ms; bin i >= 1
// holds [2^((i-1)/binsPerDoubling), 2^(i/binsPerDoubling)) ms, about 9%
// wide, so a percentile read from it is within 5% of the exact one
// whatever the scale (1 ms or 10 minutes), and a bucket's histogram is a
// handful of rows, merged across buckets by adding counts.
const binsPerDoubling = 8

// MaxBin is the last bin; it holds everything from about 12 days up.
const MaxBin = 1 + 30*binsPerDoubling

// LatencyBin returns the histogram bin of a latency. A negative latency (an
// event time after its stored time: a client clock ahead) is bin 0.
func LatencyBin(d time.Duration) int {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 1 {
		return 0
	}
	return min(MaxBin, 1+int(math.Floor(math.Log2(ms)*binsPerDoubling)))
}

// binValue is the latency, in ms, a bin stands for: its geometric middle
// (0.5 ms for bin 0).
func binValue(bin int) float64 {
	if bin <= 0 {
		return 0.5
	}
	return math.Exp2((float64(bin) - 0.5) / binsPerDoubling)
}

// Range is a span the charts can show, with the step its points are
// spaced by: a few hundred points at most, whatever the span.
type Range struct {
	Name string
	Span time.Duration
	Step time.Duration
}

// Ranges are the spans the charts offer, shortest first.
var Ranges = []Range{
	{"15m", 15 * time.Minute, Bucket},
	{"1h", time.Hour, 30 * time.Second},
	{"6h", 6 * time.Hour, 2 * time.Minute},
	{"24h", 24 * time.Hour, 10 * time.Minute},
	{"7d", 7 * 24 * time.Hour, time.Hour},
}

// ParseRange returns the range named s; "" is the shortest.
func ParseRange(s string) (Range, error) {
	if s == "" {
		return Ranges[0], nil
	}
	for _, r := range Ranges {
		if r.Name == s {
			return r, nil
		}
	}
	names := make([]string, len(Ranges))
	for i, r := range Ranges {
		names[i] = r.Name
	}
	return Range{}, fmt.Errorf("range: %q is not one of %v", s, names)
}

// Window returns the span of r ending with the second now is in:
// [from, to), to being the end of that second, so that what was stored a
// moment ago is in it. Steps start on the Unix-time grid, so from is the
// start of the step that ends one span before the step now is in ends;
// the last step is the one still filling. Its count covers to minus its
// start only, which a reader dividing by the full step would draw as a
// dip: rates divide by the part of the step inside the window.
func (r Range) Window(now time.Time) (from, to time.Time) {
	step := int64(r.Step / time.Second)
	sec := now.Unix()
	last := sec - mod(sec, step)
	return time.Unix(last+step, 0).UTC().Add(-r.Span), time.Unix(sec+1, 0).UTC()
}
