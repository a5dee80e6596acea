// Package ops is the backend of Pulse's operator console, in three
// owners: the group Monitor (the consumer group seen with lag in records
// and in seconds, a lag history with markers for rebalances, commit
// stalls and dead-letter bursts, the keys held back by the ordering
// rules), the DeadLetters service (triage and replay) and the LoadRunner
// (generated load runs). Each has its own state, metrics and Run.
package ops

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RequestError is a request the console cannot act on; its text is safe
// to show the client.
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

func invalidf(format string, args ...any) error {
	return &RequestError{Msg: fmt.Sprintf(format, args...)}
}

// countAt is a running count at a time.
type countAt struct {
	t time.Time
	n int64
}

// background owns work started by requests (replays, load runs): stop
// cancels it and waits for it, and refuses new work after that.
type background struct {
	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	stopped bool
	wg      sync.WaitGroup
}

func newBackground() *background {
	ctx, cancel := context.WithCancel(context.Background())
	return &background{ctx: ctx, cancel: cancel}
}

// start runs fn in the background and returns the cancel function of its
// context; false once stop was called.
func (b *background) start(fn func(ctx context.Context)) (context.CancelFunc, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil, false
	}
	ctx, cancel := context.WithCancel(b.ctx)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer cancel()
		fn(ctx)
	}()
	return cancel, true
}

// stop refuses new work, cancels what runs and waits for it.
func (b *background) stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}
