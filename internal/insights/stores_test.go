package insights

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/postgres"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
	"github.com/pulse-dev/pulse/test/pgtest"
)

// storeKinds are the stores every insight is checked on.
var storeKinds = []string{"SQLite", "PostgreSQL"}

// openKind opens an empty store of a kind: a SQLite file, or a fresh
// schema of the PostgreSQL the tests use (PULSE_TEST_POSTGRES_URL, by
// default the local one), dropped after the test.
func openKind(t *testing.T, kind string) store.Store {
	t.Helper()
	if kind == "SQLite" {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	schema := pgtest.FreshSchema(t, "pulse_insights_")
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, pgtest.URL(), postgres.Options{Schema: schema, MaxConns: 4}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required (set PULSE_TEST_POSTGRES_URL to point elsewhere): %v", postgres.Redact(pgtest.URL()), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
