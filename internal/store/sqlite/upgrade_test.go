package sqlite

import (
	"database/sql"
	"io/fs"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/storetest"
)

// A database made by the first release keeps its rows through the
// explorer's migration, and they read back without the new fields.
func TestUpgradeFromFirstSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pulse.db")
	old := sql.OpenDB(newConnector(path + "?_journal_mode=WAL"))
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, old, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), 1); err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}
	if _, err := old.Exec(`INSERT INTO events (event_id, user_id, event_type, timestamp, created_at)
		VALUES ('old', 'u', 'page_view', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO messages (event_id, status, queued_at, created_at)
		VALUES ('old', 'completed', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	// Records read from Kafka: the upgrade fills the positions from them.
	if _, err := old.Exec(`INSERT INTO messages (event_id, status, topic, "partition", "offset", queued_at, created_at)
		VALUES ('k1', 'completed', 'user_events', 1, 7, 1, 2), ('k2', 'dead_lettered', 'user_events', 1, 9, 1, 2),
		('k3', 'completed', 'user_events', 0, 0, 1, 2)`); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(t.Context(), path, Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open after version 1: %v", err)
	}
	defer db.Close()
	m, e, err := db.Message(t.Context(), "old")
	if err != nil {
		t.Fatalf("Message: %v", err)
	}
	if m.Status != event.StatusCompleted || m.FetchedAt != nil || m.Attempts != nil || m.ReplayOf != "" || e == nil {
		t.Errorf("old row = %+v, event %v; want it completed without the new fields", m, e)
	}
	pos, err := db.Positions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Positions{"user_events": {0: 1, 1: 10}}); !reflect.DeepEqual(pos, want) {
		t.Errorf("positions after the upgrade = %v, want %v (from the processing log)", pos, want)
	}
	// The running totals count the rows stored before the upgrade.
	tot, err := db.Totals(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tot.Events != 1 || tot.EventTypes["page_view"] != 1 || tot.Messages[event.StatusCompleted] != 3 ||
		tot.Messages[event.StatusDeadLettered] != 1 {
		t.Errorf("totals after the upgrade = %+v; want 1 page_view, 3 completed, 1 dead-lettered", tot)
	}
	// The upgrade gave the user a first seen and a day of activity.
	storetest.CheckActivityBackfill(t, db, "u", time.UnixMicro(1).UTC())
	storetest.CheckUniquesBackfill(t, db, "u", time.UnixMicro(1).UTC())
}

// The migrations after the first can be rolled back and applied again,
// and the indexes they rebuild serve the rows already stored.
func TestMigrationsDownAndUp(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := migrations(db.w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write(t.Context(), []store.Record{record(0), record(1), record(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 1); err != nil {
		t.Fatalf("down: %v", err)
	}
	if v, err := p.GetDBVersion(t.Context()); err != nil || v != 1 {
		t.Fatalf("version after down = %d, %v; want 1", v, err)
	}
	if _, err := p.Up(t.Context()); err != nil {
		t.Fatalf("up again: %v", err)
	}
	for q, want := range map[store.EventQuery]int{
		{UserID: "u0"}: 2,
		{SessionID: "s", EventType: event.TypeButtonClick}: 1,
	} {
		page, _, err := db.SearchEvents(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != want {
			t.Errorf("search %+v after down and up = %d rows; want %d", q, len(page), want)
		}
	}
}
