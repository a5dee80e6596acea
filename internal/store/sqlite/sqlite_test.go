package sqlite_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
	"github.com/pulse-dev/pulse/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "pulse.db"))
	})
}

func TestReopenKeepsData(t *testing.T) {
	// A nested directory that does not exist yet: Open creates it.
	path := filepath.Join(t.TempDir(), "data", "nested", "pulse.db")
	db := open(t, path)
	rec := store.Record{
		Event:   &event.Event{EventID: "kept", UserID: "u", EventType: event.TypePageView},
		Message: event.Message{EventID: "kept", Status: event.StatusCompleted, Source: event.SourceAPI},
	}
	if _, err := db.Write(t.Context(), []store.Record{rec}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Opening again runs the migrations again, which must change nothing.
	db = open(t, path)
	defer db.Close()
	got, err := db.LatestEvents(t.Context(), 10)
	if err != nil {
		t.Fatalf("LatestEvents: %v", err)
	}
	if len(got) != 1 || got[0].EventID != "kept" {
		t.Fatalf("after reopen: events %+v, want the one written before", got)
	}
	inserted, err := db.Write(t.Context(), []store.Record{rec})
	if err != nil || inserted[0] != (store.Outcome{}) {
		t.Errorf("rewrite after reopen = %v, %v; want not inserted", inserted, err)
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "a?b.db")} {
		if db, err := sqlite.Open(t.Context(), path, sqlite.Options{}, nil); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	db := open(b, filepath.Join(b.TempDir(), "pulse.db"))
	defer db.Close()
	storetest.BenchmarkWrite(b, db)
}

func TestExplorer(t *testing.T) {
	storetest.RunExplorer(t, func(t *testing.T) storetest.ExplorerStore {
		return open(t, filepath.Join(t.TempDir(), "pulse.db"))
	})
}
