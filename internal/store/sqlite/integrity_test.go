package sqlite_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

func completed(id string) store.Record {
	return store.Record{
		Event:   &event.Event{EventID: id, UserID: "u", EventType: event.TypePageView, Timestamp: time.Now()},
		Message: event.Message{EventID: id, Status: event.StatusCompleted, Source: event.SourceAPI, QueuedAt: time.Now()},
	}
}

// fill writes n events in batches of 1,000, enough for a file of a few
// megabytes whose middle pages hold table and index data.
func fill(t *testing.T, db *sqlite.DB, n int) {
	t.Helper()
	for b := 0; b*1000 < n; b++ {
		batch := make([]store.Record, 0, 1000)
		for i := b * 1000; i < min(n, (b+1)*1000); i++ {
			batch = append(batch, completed(fmt.Sprintf("e-%06d", i)))
		}
		if _, err := db.Write(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCorruptFileIsFoundAndRefusesWrites writes garbage over pages in the
// middle of a database file, as a failing disk or a stray process would:
// the store must not open healthy and take writes. The background check
// finds the damage even though no query has read those pages yet.
func TestCorruptFileIsFoundAndRefusesWrites(t *testing.T) {
	for _, at := range []float64{0.25, 0.5, 0.75} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pulse.db")
			db := open(t, path)
			fill(t, db, 20000)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			garbage := make([]byte, 16<<10)
			for i := range garbage {
				garbage[i] = byte(i*7 + 3)
			}
			// Page-aligned, so that whole pages are garbage.
			off := int64(float64(fi.Size())*at) &^ 4095
			if _, err := f.WriteAt(garbage, off); err != nil {
				t.Fatal(err)
			}
			f.Close()

			db = open(t, path)
			defer db.Close()
			deadline := time.Now().Add(10 * time.Second)
			for db.Ping(t.Context()) == nil {
				if time.Now().After(deadline) {
					t.Fatal("a file with garbage pages still pings healthy")
				}
				time.Sleep(10 * time.Millisecond) // polling interval
			}
			err = db.Ping(t.Context())
			if !errors.Is(err, sqlite.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "restore") {
				t.Fatalf("Ping = %v; want ErrCorrupt naming the file and what to do", err)
			}
			if _, err := db.Write(t.Context(), []store.Record{completed("after")}); !errors.Is(err, sqlite.ErrCorrupt) {
				t.Fatalf("Write on a corrupt file = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestNotADatabase: a file that is not SQLite at all is refused at open.
func TestNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pulse.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not a database\n", 500)), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), path, sqlite.Options{}, nil)
	if err == nil {
		db.Close()
		t.Fatal("opened a file that is not a database")
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v does not name the file", err)
	}
}

// TestIntactFileStaysHealthy: the background check passes a sound file.
func TestIntactFileStaysHealthy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pulse.db")
	db := open(t, path)
	fill(t, db, 3000)
	db.Close()
	db = open(t, path)
	defer db.Close()
	if _, err := db.Write(t.Context(), []store.Record{completed("after")}); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}
