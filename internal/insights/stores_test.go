package insights

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/postgres"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
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
	url := os.Getenv("PULSE_TEST_POSTGRES_URL")
	if url == "" {
		url = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "pulse_insights_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, url, postgres.Options{Schema: schema, MaxConns: 4}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required (set PULSE_TEST_POSTGRES_URL to point elsewhere): %v", postgres.Redact(url), err)
	}
	t.Cleanup(func() {
		_ = db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return db
}
