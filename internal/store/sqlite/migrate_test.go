package sqlite

import (
	"log/slog"
	"path/filepath"
	"testing"
)

func TestMigrationsRunOnce(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), Options{}, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	n, err := migrate(t.Context(), db.w, log)
	if err != nil || n != 0 {
		t.Errorf("migrate on a migrated database = %d, %v; want 0, nil", n, err)
	}
}
