package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// AppendAudit records an entry.
func (d *DB) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	return d.exec(ctx, "append audit", `INSERT INTO audit_log (at, actor, account_id, client_ip, action, target, outcome, status, detail, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, e.At, clean(e.Actor), clean(e.AccountID), clean(e.ClientIP), clean(e.Action),
		clean(e.Target), clean(e.Outcome), e.Status, clean(e.Detail), clean(e.RequestID))
}

// AuditLog returns the matching entries, newest first.
func (d *DB) AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	where, args := []string{"true"}, []any{}
	add := func(cond string, a any) {
		args = append(args, a)
		where = append(where, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if !f.From.IsZero() {
		add("at >= $?", f.From)
	}
	if !f.To.IsZero() {
		add("at < $?", f.To)
	}
	for _, eq := range []struct{ col, val string }{{"actor", f.Actor}, {"action", f.Action}, {"outcome", f.Outcome}} {
		if eq.val != "" {
			add(eq.col+" = $?", clean(eq.val))
		}
	}
	if f.Q != "" {
		// ILIKE, so that case is ignored as SQLite's LIKE ignores it.
		add(`(actor ILIKE $? ESCAPE '\' OR action ILIKE $? ESCAPE '\' OR target ILIKE $? ESCAPE '\' OR detail ILIKE $? ESCAPE '\'
			OR client_ip ILIKE $? ESCAPE '\' OR request_id ILIKE $? ESCAPE '\')`, store.LikePattern(clean(f.Q)))
	}
	if f.Before > 0 {
		add("id < $?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := d.pool.Query(ctx, `SELECT id, at, actor, account_id, client_ip, action, target, outcome, status, detail, request_id
		FROM audit_log WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, d.fail("audit log", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEntry, error) {
		var e store.AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.AccountID, &e.ClientIP, &e.Action, &e.Target, &e.Outcome, &e.Status, &e.Detail, &e.RequestID)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, d.fail("audit log", err)
	}
	if out == nil {
		out = []store.AuditEntry{}
	}
	return out, nil
}

// RetainAudit deletes the entries older than before.
func (d *DB) RetainAudit(ctx context.Context, before time.Time) (int64, error) {
	if d.closed.Load() {
		return 0, store.ErrClosed
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM audit_log WHERE at < $1`, before)
	if err != nil {
		return 0, d.fail("retain audit", err)
	}
	return tag.RowsAffected(), nil
}
