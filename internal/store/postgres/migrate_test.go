package postgres

import (
	"log/slog"
	"testing"

	"github.com/pulse-dev/pulse/test/pgtest"
)

func TestMigrationsRunOnce(t *testing.T) {
	schema := pgtest.FreshSchema(t, "pulse_test_")
	db, err := Open(t.Context(), pgtest.URL(), Options{Schema: schema}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required: %v", Redact(pgtest.URL()), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	n, err := db.migrate(t.Context())
	if err != nil || n != 0 {
		t.Errorf("migrate on a migrated database = %d, %v; want 0, nil", n, err)
	}
}
