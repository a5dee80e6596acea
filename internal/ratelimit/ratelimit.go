// Package ratelimit limits requests per key with token buckets.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Keyed is a token bucket per key (a client IP, a write key): rate
// tokens a second, up to burst. Buckets idle long enough to be full again
// are forgotten, so memory follows the keys active in the last minute.
type Keyed struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*tokenBucket
	lastSweep time.Time
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter; now is the clock (time.Now).
func New(rate float64, burst int, now func() time.Time) *Keyed {
	return &Keyed{rate: rate, burst: float64(burst), now: now, buckets: make(map[string]*tokenBucket), lastSweep: now()}
}

// Allow takes a token for key, or says how long until one is available.
func (l *Keyed) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > time.Minute {
		// Forget clients whose bucket has refilled: they are
		// indistinguishable from new ones.
		full := time.Duration(l.burst / l.rate * float64(time.Second))
		for k, b := range l.buckets {
			if now.Sub(b.last) > full {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &tokenBucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// Rate is the tokens added per second.
func (l *Keyed) Rate() float64 { return l.rate }
