// Package pgtest is test-only support for tests against the PostgreSQL
// server CI runs: where it is, and a schema of a test's own. Only tests
// import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL is the server the tests use: PULSE_TEST_POSTGRES_URL, or the one on
// this machine. CI guarantees it runs; a test that cannot reach it fails.
func URL() string {
	if u := os.Getenv("PULSE_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// FreshSchema returns the name of a schema no other test uses, starting
// with prefix, and drops it when the test ends (after the cleanups
// registered later, such as closing the pools that use it).
func FreshSchema(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := prefix + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, URL())
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
