package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

func openInternal(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func records(prefix string, n int) []store.Record {
	out := make([]store.Record, n)
	for i := range out {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		out[i] = store.Record{
			Event: &event.Event{EventID: id, UserID: "u-" + id, EventType: event.TypePageView, Timestamp: time.Now()},
			Message: event.Message{EventID: id, UserID: "u-" + id, EventType: event.TypePageView,
				Status: event.StatusCompleted, Source: event.SourceKafka, QueuedAt: time.Now()},
		}
	}
	return out
}

// queued waits until n batches wait for the writer.
func queued(t *testing.T, db *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		db.gmu.Lock()
		got := len(db.queue)
		db.gmu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d batches queued, want %d", got, n)
		}
	}
}

func TestWritesWaitingTogetherShareOneTransaction(t *testing.T) {
	db := openInternal(t)
	// Hold the writer's turn so that three callers queue up behind it.
	db.writing <- struct{}{}
	type result struct {
		inserted []store.Outcome
		err      error
	}
	results := make(chan result, 3)
	for i := range 3 {
		go func() {
			ins, err := db.Write(context.Background(), records(fmt.Sprintf("g%d", i), 100))
			results <- result{ins, err}
		}()
	}
	queued(t, db, 3)
	<-db.writing
	for range 3 {
		r := <-results
		if r.err != nil || len(r.inserted) != 100 {
			t.Fatalf("Write = %d flags, %v", len(r.inserted), r.err)
		}
		for _, o := range r.inserted {
			if !o.New {
				t.Fatal("a new record was reported as not inserted")
			}
		}
	}
	var n int64
	if err := db.r.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil || n != 300 {
		t.Fatalf("events = %d, %v; want 300", n, err)
	}
	if got := db.commits.Load(); got != 1 {
		t.Fatalf("three queued batches took %d transactions, want 1", got)
	}
}

func TestCancelledWhileQueuedIsNotWritten(t *testing.T) {
	db := openInternal(t)
	db.writing <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := db.Write(ctx, records("cancelled", 10))
		errc <- err
	}()
	queued(t, db, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Write after cancel = %v, want context.Canceled", err)
	}
	<-db.writing
	if _, err := db.Write(t.Context(), records("after", 1)); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.r.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil || n != 1 {
		t.Fatalf("events = %d, %v; want only the later write", n, err)
	}
}

// TestRestartRewindsTheWAL: passive checkpoints alone never rewind a WAL
// that is always being written; the restart taken in the writer's turn
// does, so the next write starts the log over.
func TestRestartRewindsTheWAL(t *testing.T) {
	db := openInternal(t)
	for i := range 20 {
		if _, err := db.Write(t.Context(), records(fmt.Sprintf("w%02d", i), 200)); err != nil {
			t.Fatal(err)
		}
	}
	grown, _, err := db.checkpoint(t.Context(), db.c, "PASSIVE")
	if err != nil || grown < 100 {
		t.Fatalf("WAL after writes: %d frames, %v", grown, err)
	}
	if done, err := db.restart(t.Context(), db.c, 0); err != nil || !done {
		t.Fatalf("restart = %v, %v; want the whole WAL checkpointed", done, err)
	}
	if _, err := db.Write(t.Context(), records("next", 1)); err != nil {
		t.Fatal(err)
	}
	after, _, err := db.checkpoint(t.Context(), db.c, "PASSIVE")
	if err != nil || after >= grown/4 {
		t.Fatalf("WAL after restart and one write: %d frames (was %d), %v", after, grown, err)
	}
}

// TestRestartGivesWayToALongReader: a reader holding an old snapshot keeps
// a RESTART from finishing; it gives up after its busy timeout and says
// so, and writes go on.
func TestRestartGivesWayToALongReader(t *testing.T) {
	db := openInternal(t)
	if _, err := db.Write(t.Context(), records("before", 50)); err != nil {
		t.Fatal(err)
	}
	tx, err := db.r.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int64
	if err := tx.QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil || n != 50 {
		t.Fatalf("reader sees %d, %v", n, err)
	}
	if _, err := db.Write(t.Context(), records("after", 50)); err != nil {
		t.Fatal(err)
	}
	done, err := db.restart(t.Context(), db.c, 0)
	if err != nil && !busy(err) {
		t.Fatalf("restart with a reader: %v", err)
	}
	if done {
		t.Fatal("restart reported the WAL checkpointed while a reader holds an older snapshot")
	}
	if _, err := db.Write(t.Context(), records("later", 50)); err != nil {
		t.Fatalf("write after a blocked restart: %v", err)
	}
}

// TestQuietWritesAreCheckpointed: a few records, far fewer than
// checkpointRecords, still reach the database file within about
// checkpointIdle, so an idle server's WAL does not hold them for ever.
func TestQuietWritesAreCheckpointed(t *testing.T) {
	db := openInternal(t)
	size := func() int64 {
		st, err := os.Stat(db.path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	// The second write comes right after a checkpoint, so only the idle
	// rule can pick it up.
	for i := range 2 {
		before := size()
		if _, err := db.Write(t.Context(), records(fmt.Sprintf("quiet%d", i), 300)); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * checkpointIdle); size() == before; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("write %d: database file still %d bytes %v later", i, before, 10*checkpointIdle)
			}
		}
	}
}
