package store

import (
	"context"
	"time"
)

// AuditEntry is one recorded action (docs/accounts.md#audit-log): who
// did what, when, from where, and how it ended. Entries are only ever
// appended; retention alone removes them.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Actor names who acted: an email, "token tok_… of ada@…", the
	// admin token, the open server, the command line, or for a refused
	// sign-in the email tried.
	Actor     string `json:"actor"`
	AccountID string `json:"account_id"`
	ClientIP  string `json:"client_ip"`
	// Action is the route ("POST /api/dlq/replay/") or the command
	// ("pulse users add"); Target what it acted on (an id, an email).
	Action string `json:"action"`
	Target string `json:"target"`
	// Outcome is ok, refused (4xx: the request was turned down) or
	// failed (5xx).
	Outcome string `json:"outcome"`
	// Status is the HTTP status; 0 for the command line.
	Status int `json:"status"`
	// Detail is what the answer said: a summary, or the refusal's reason.
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
}

// The outcomes of an audited action.
const (
	AuditOK      = "ok"
	AuditRefused = "refused"
	AuditFailed  = "failed"
)

// AuditFilter selects entries: every set field must match. Q is a
// substring of the actor, action, target, detail, client IP or request
// id, in any case. Before
// pages: entries with a smaller id.
type AuditFilter struct {
	From, To time.Time
	Actor    string
	Action   string
	Outcome  string
	Q        string
	Before   int64
	Limit    int
}

// Audit keeps the audit log.
type Audit interface {
	// AppendAudit records an entry; the store gives it its id.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// AuditLog returns the entries that match f, newest first, at most
	// f.Limit (100 when zero).
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// RetainAudit deletes the entries older than before and returns how
	// many.
	RetainAudit(ctx context.Context, before time.Time) (int64, error)
}
