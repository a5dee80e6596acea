package series

import (
	"cmp"
	"slices"
	"time"
)

// Count is the events of one type stored in one step, as the store
// answers: Start is the step's start in Unix seconds.
type Count struct {
	Start     int64
	EventType string
	Events    int64
}

// BinCount is the events of one latency bin stored in one step.
type BinCount struct {
	Start  int64
	Bin    int
	Events int64
}

// View is the answer of GET /api/series/: per step, the events stored by
// type and the latency percentiles (event time to stored time) of those
// events. Times are the steps' starts; the last step ends at To, before its
// full width when it is still filling.
type View struct {
	Range       string    `json:"range"`
	StepSeconds int64     `json:"step_seconds"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Times       []int64   `json:"times"`
	// Events holds, per event type, the events stored in each step (0
	// when none); only types stored in the range are listed.
	Events  map[string][]int64 `json:"events"`
	Latency LatencyView        `json:"latency_ms"`
}

// LatencyView holds the percentiles per step, null where no event was
// stored, and how many events each step's figures are read from.
type LatencyView struct {
	P50     []*float64 `json:"p50"`
	P95     []*float64 `json:"p95"`
	P99     []*float64 `json:"p99"`
	Samples []int64    `json:"samples"`
}

// Build shapes the store's answer for r over [from, to) into a View.
// Counts outside the window are ignored.
func Build(r Range, from, to time.Time, counts []Count, bins []BinCount) View {
	step := int64(r.Step / time.Second)
	first, n := from.Unix(), int((to.Unix()-from.Unix()+step-1)/step)
	v := View{
		Range: r.Name, StepSeconds: step, From: from, To: to,
		Times:  make([]int64, n),
		Events: map[string][]int64{},
		Latency: LatencyView{
			P50: make([]*float64, n), P95: make([]*float64, n), P99: make([]*float64, n),
			Samples: make([]int64, n),
		},
	}
	for i := range v.Times {
		v.Times[i] = first + int64(i)*step
	}
	index := func(start int64) int {
		if start < first || (start-first)%step != 0 {
			return -1
		}
		if i := int((start - first) / step); i < n {
			return i
		}
		return -1
	}
	for _, c := range counts {
		i := index(c.Start)
		if i < 0 {
			continue
		}
		s := v.Events[c.EventType]
		if s == nil {
			s = make([]int64, n)
			v.Events[c.EventType] = s
		}
		s[i] += c.Events
	}
	hists := make([][]BinCount, n)
	for _, b := range bins {
		if i := index(b.Start); i >= 0 {
			hists[i] = append(hists[i], b)
		}
	}
	for i, h := range hists {
		v.Latency.Samples[i], v.Latency.P50[i], v.Latency.P95[i], v.Latency.P99[i] = percentiles(h)
	}
	return v
}

// percentiles reads the 50th, 95th and 99th percentiles from one step's
// histogram by nearest rank, each as its bin's middle.
func percentiles(h []BinCount) (total int64, p50, p95, p99 *float64) {
	slices.SortFunc(h, func(a, b BinCount) int { return cmp.Compare(a.Bin, b.Bin) })
	for _, b := range h {
		total += b.Events
	}
	if total == 0 {
		return 0, nil, nil, nil
	}
	// q is in thousandths, so that the rank is exact integer arithmetic.
	at := func(q int64) *float64 {
		rank := max(1, (total*q+999)/1000)
		var seen int64
		for _, b := range h {
			seen += b.Events
			if seen >= rank {
				v := binValue(b.Bin)
				return &v
			}
		}
		return nil
	}
	return total, at(500), at(950), at(990)
}
