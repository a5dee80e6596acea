package postgres

import (
	"io/fs"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store/storetest"
	"github.com/pulse-dev/pulse/test/pgtest"
)

// A database made by the first release keeps its rows through the
// explorer's migration, and they read back without the new fields.
func TestUpgradeFromFirstSchema(t *testing.T) {
	url := pgtest.URL()
	schema := pgtest.FreshSchema(t, "pulse_test_")
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required: %v", Redact(url), err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(t.Context(), `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), 1); err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}
	_ = sqlDB.Close()
	at := time.Date(2026, 11, 3, 4, 5, 6, 7000, time.UTC)
	if _, err := pool.Exec(t.Context(), `INSERT INTO events (event_id, user_id, event_type, "timestamp", created_at)
		VALUES ('old', 'u', 'page_view', $1, now())`, at); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), `INSERT INTO messages (event_id, status, queued_at, created_at)
		VALUES ('old', 'completed', now(), now())`); err != nil {
		t.Fatal(err)
	}

	db, err := Open(t.Context(), url, Options{Schema: schema}, slog.New(slog.DiscardHandler))
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
	// The running totals count the rows stored before the upgrade.
	tot, err := db.Totals(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tot.Events != 1 || tot.EventTypes["page_view"] != 1 || tot.Messages[event.StatusCompleted] != 1 {
		t.Errorf("totals after the upgrade = %+v; want 1 page_view, 1 completed", tot)
	}
	// The upgrade gave the user a first seen and a day of activity.
	storetest.CheckActivityBackfill(t, db, "u", at)
	storetest.CheckUniquesBackfill(t, db, "u", at)
}
