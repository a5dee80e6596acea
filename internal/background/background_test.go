package background

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestStopCancelsWaitsAndRefuses(t *testing.T) {
	w := New()
	started := make(chan struct{})
	var finished atomic.Bool
	if _, ok := w.Go(func(ctx context.Context) {
		close(started)
		<-ctx.Done() // runs until Stop cancels it
		finished.Store(true)
	}); !ok {
		t.Fatal("Go refused before Stop")
	}
	<-started
	w.Stop()
	if !finished.Load() {
		t.Fatal("Stop returned before the work it cancelled ended")
	}
	ran := false
	if cancel, ok := w.Go(func(context.Context) { ran = true }); ok || cancel != nil {
		t.Fatal("Go accepted work after Stop")
	}
	if ran {
		t.Fatal("refused work ran")
	}
}

func TestCancelEndsOneRun(t *testing.T) {
	w := New()
	defer w.Stop()
	done := make(chan struct{})
	cancel, _ := w.Go(func(ctx context.Context) {
		<-ctx.Done()
		close(done)
	})
	cancel()
	<-done
}
