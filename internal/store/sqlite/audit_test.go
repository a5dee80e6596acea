package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/pulse-dev/pulse/internal/store"
)

// TestAuditLogIsAppendOnly: a row of the audit log cannot be rewritten,
// even by a statement Pulse never sends.
func TestAuditLogIsAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pulse.db")
	db := open(t, path)
	if err := db.AppendAudit(t.Context(), store.AuditEntry{At: time.Now(), Actor: "ada@example.com", Action: "POST /api/load/", Outcome: store.AuditOK}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_, err = raw.Exec(`UPDATE audit_log SET actor = 'mallory'`)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update: %v, want the trigger's refusal", err)
	}
}
