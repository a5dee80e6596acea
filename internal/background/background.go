// Package background runs work that requests start and a service owns:
// a replay or a load run outlives the request that began it, and the
// service's Run cancels it and waits for it when it returns.
package background

import (
	"context"
	"sync"
)

// Work is the background work of one service. The zero value is not
// usable; create it with New.
type Work struct {
	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	wg      sync.WaitGroup
}

// New returns a Work that accepts work until Stop.
func New() *Work {
	ctx, cancel := context.WithCancel(context.Background())
	return &Work{ctx: ctx, cancel: cancel}
}

// Go runs fn in the background and returns the cancel function of its
// context; false, and fn not run, once Stop was called.
func (w *Work) Go(fn func(ctx context.Context)) (context.CancelFunc, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return nil, false
	}
	ctx, cancel := context.WithCancel(w.ctx)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer cancel()
		fn(ctx)
	}()
	return cancel, true
}

// Stop refuses new work, cancels what runs and waits for it.
func (w *Work) Stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}
