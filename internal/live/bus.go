package live

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/metrics"
)

// Bus fans changes out to subscribers inside one process. Publish never
// blocks: a subscriber whose buffer is full misses the change, and the
// drop is counted.
type Bus struct {
	log     *slog.Logger
	dropped prometheus.Counter

	// gaps counts changes some subscriber missed (see Gaps).
	gaps atomic.Uint64

	mu   sync.RWMutex
	subs map[*subscription]struct{}
	// closed is set by close: nothing more is published, and a late
	// subscriber gets a closed channel.
	closed bool
}

type subscription struct {
	ch chan event.Change
}

// NewBus returns an empty in-process bus. reg may be nil.
func NewBus(log *slog.Logger, reg prometheus.Registerer) *Bus {
	return newBus(log, reg, "local")
}

func newBus(log *slog.Logger, reg prometheus.Registerer, name string) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pulse_live_bus_dropped_total",
		Help: "Changes a bus subscriber missed because its buffer was full.",
	}, []string{"bus"})
	// A collector reg refuses (a clashing description) still counts,
	// unexported.
	_ = metrics.Register(reg, &drops)
	return &Bus{
		log:     log.With("component", "live_bus"),
		dropped: drops.WithLabelValues(name),
		subs:    make(map[*subscription]struct{}),
	}
}

// Publish hands c to every subscriber that has room for it.
func (b *Bus) Publish(c event.Change) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		select {
		case s.ch <- c:
		default:
			b.dropped.Inc()
			b.gaps.Add(1)
		}
	}
}

// Gaps counts the changes a subscriber missed since the bus started. It
// only grows: whoever keeps state from the changes (the statistics)
// rebuilds it from the store when the count moves.
func (b *Bus) Gaps() uint64 { return b.gaps.Load() }

// Subscribe returns a channel of changes buffered for buf of them, and a
// cancel function that unsubscribes and closes the channel.
func (b *Bus) Subscribe(buf int) (<-chan event.Change, func()) {
	s := &subscription{ch: make(chan event.Change, max(buf, 0))}
	b.mu.Lock()
	if b.closed {
		close(s.ch)
	} else {
		b.subs[s] = struct{}{}
	}
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			// After close, the channel is closed already.
			if _, ok := b.subs[s]; ok {
				delete(b.subs, s)
				close(s.ch)
			}
			b.mu.Unlock()
		})
	}
}

// close ends every subscription, closing its channel, as when the source
// of the changes has stopped: subscribers then know no more will come.
// Subscriptions' cancel functions may still be called.
func (b *Bus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.ch)
	}
}
