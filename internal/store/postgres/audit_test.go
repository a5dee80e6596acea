package postgres_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// TestAuditLogIsAppendOnly: a row of the audit log cannot be rewritten,
// even by a statement Pulse never sends.
func TestAuditLogIsAppendOnly(t *testing.T) {
	schema := freshSchema(t)
	db := open(t, schema)
	defer db.Close()
	if err := db.AppendAudit(t.Context(), store.AuditEntry{At: time.Now(), Actor: "ada@example.com", Action: "POST /api/load/", Outcome: store.AuditOK}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), testURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	_, err = conn.Exec(t.Context(), `UPDATE `+schema+`.audit_log SET actor = 'mallory'`)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update: %v, want the trigger's refusal", err)
	}
}
