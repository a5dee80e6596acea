package bench

import (
	"bytes"
	"strconv"
	"strings"
)

// metric reads one unlabelled gauge or counter (summed over its labels)
// from the server's registry; -1 when absent.
func (in *instance) metric(name string) float64 {
	mfs, err := in.Registry().Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			}
		}
		return sum
	}
	return -1
}

// hubClients is the number of WebSocket clients the hub holds.
func (in *instance) hubClients() int { return int(in.metric("pulse_ws_clients")) }

// histogramMean is the mean of the histogram whose name ends with
// suffix, over all its series; 0 when absent or empty.
func (in *instance) histogramMean(suffix string) float64 {
	mfs, err := in.Registry().Gather()
	if err != nil {
		return 0
	}
	var sum float64
	var n uint64
	for _, mf := range mfs {
		if !strings.HasSuffix(mf.GetName(), suffix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				sum += h.GetSampleSum()
				n += h.GetSampleCount()
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

var (
	newEventPrefix  = []byte(`{"type":"new_event",`)
	newEventsPrefix = []byte(`{"type":"new_events",`)
	eventIDKey      = []byte(`"event_id":`)
	droppedKey      = []byte(`"dropped":`)
)

// countFrame counts the events of a new_event or new_events frame and
// reads its dropped field without decoding the events; other frames count
// zero. ok is false for a frame it cannot read.
func countFrame(data []byte) (events, dropped int64, ok bool) {
	switch {
	case bytes.HasPrefix(data, newEventPrefix):
		return 1, 0, true
	case bytes.HasPrefix(data, newEventsPrefix):
		i := bytes.LastIndex(data, droppedKey)
		if i < 0 {
			return 0, 0, false
		}
		rest := data[i+len(droppedKey):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		d, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		return int64(bytes.Count(data, eventIDKey)), d, true
	}
	return 0, 0, true
}
