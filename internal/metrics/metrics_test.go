package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func newCounter(help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: "pulse_test_total", Help: help})
}

func TestRegister(t *testing.T) {
	t.Run("twice on one registry shares the first", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		first, second := newCounter("h"), newCounter("h")
		if err := Register(reg, &first); err != nil {
			t.Fatal(err)
		}
		registered := first
		if err := Register(reg, &second); err != nil {
			t.Fatalf("second Register: %v", err)
		}
		if first != registered {
			t.Error("Register replaced the collector it registered")
		}
		if second != first {
			t.Fatal("second Register did not return the registered collector")
		}
		second.Inc()
		var m dto.Metric
		if err := first.Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got != 1 {
			t.Errorf("registered counter = %v, want 1", got)
		}
	})

	t.Run("nil registerer keeps the collector", func(t *testing.T) {
		c := newCounter("h")
		before := c
		if err := Register(nil, &c); err != nil {
			t.Fatal(err)
		}
		if c != before {
			t.Error("Register with a nil registerer replaced the collector")
		}
		c.Inc() // still usable, unregistered
	})

	t.Run("a clashing description is an error", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		first, other := newCounter("one help"), newCounter("another help")
		if err := Register(reg, &first); err != nil {
			t.Fatal(err)
		}
		before := other
		if err := Register(reg, &other); err == nil {
			t.Fatal("Register of a clashing description: no error")
		}
		if other != before {
			t.Error("a refused collector was replaced")
		}
	})

	t.Run("a registered collector of another type is not reused", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pulse_test_total", Help: "h"}, nil)
		if err := Register(reg, &vec); err != nil {
			t.Fatal(err)
		}
		c := newCounter("h")
		before := c
		if err := Register(reg, &c); err != nil {
			t.Fatalf("Register: %v", err)
		}
		if c != before {
			t.Error("collector replaced by one of another type")
		}
	})
}
