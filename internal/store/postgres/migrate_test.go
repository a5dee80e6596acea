package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestMigrationsRunOnce(t *testing.T) {
	url := os.Getenv("PULSE_TEST_POSTGRES_URL")
	if url == "" {
		url = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "pulse_test_" + hex.EncodeToString(b)
	db, err := Open(t.Context(), url, Options{Schema: schema}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("PostgreSQL at %s is required: %v", Redact(url), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.pool.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		db.Close()
	})
	n, err := db.migrate(t.Context())
	if err != nil || n != 0 {
		t.Errorf("migrate on a migrated database = %d, %v; want 0, nil", n, err)
	}
}
