package collect

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/metrics"
)

type collectMetrics struct {
	events      *prometheus.CounterVec
	unavailable prometheus.Counter
	// warningsDropped counts warning rows not kept because too many new
	// ones waited for a flush.
	warningsDropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *collectMetrics {
	m := &collectMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_collect_events_total",
			Help: "Events the collector handled, by source and outcome: received (sent to Kafka), rejected (refused with a reason), dnt_dropped (the browser asked not to be tracked), client_dropped (discarded by the client, as it reported).",
		}, []string{"source", "outcome"}),
		unavailable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_collect_unavailable_total",
			Help: "Batches answered 503 because Kafka did not acknowledge them (the client sends them again).",
		}),
	}
	m.warningsDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pulse_collect_plan_warnings_dropped_total",
		Help: "Tracking-plan warnings not written because more than 1,000 new ones (source, event type, problem) waited for one flush; their events are counted in the ledger still.",
	})
	_ = metrics.Register(reg, &m.warningsDropped)
	// Errors only for a clashing description, which a test catches.
	_ = metrics.Register(reg, &m.events)
	_ = metrics.Register(reg, &m.unavailable)
	return m
}

func (m *collectMetrics) add(sourceID string, n ledger.Counts) {
	for _, o := range []struct {
		name string
		n    int64
	}{{"received", n.Received}, {"rejected", n.Rejected}, {"dnt_dropped", n.DNTDropped}, {"client_dropped", n.DroppedClient}} {
		if o.n > 0 {
			m.events.WithLabelValues(sourceID, o.name).Add(float64(o.n))
		}
	}
}
