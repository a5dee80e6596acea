// Package metrics registers Prometheus collectors with an injected
// registerer, so that parts of one process can share a metric.
package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers *c with reg. When reg already holds a collector of
// the same description and of c's type, *c is replaced by that one, so a
// second constructor on one registry shares the first's series instead of
// failing. A nil reg leaves *c unregistered, still counting. Any other
// error (a clashing description, an invalid one) is returned, and *c is
// left as it was: usable, but not exported by reg.
func Register[T prometheus.Collector](reg prometheus.Registerer, c *T) error {
	if reg == nil {
		return nil
	}
	err := reg.Register(*c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			*c = existing
		}
		return nil
	}
	return err
}
