package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// AppendAudit records an entry.
func (d *DB) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if err := d.writable(); err != nil {
		return err
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO audit_log (at, actor, account_id, client_ip, action, target, outcome, status, detail, request_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, micros(e.At), e.Actor, e.AccountID, e.ClientIP, e.Action, e.Target, e.Outcome, e.Status, e.Detail, e.RequestID)
	if err != nil {
		return d.fail("append audit", err)
	}
	return nil
}

// AuditLog returns the matching entries, newest first.
func (d *DB) AuditLog(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	where, args := []string{"1 = 1"}, []any{}
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if !f.From.IsZero() {
		add("at >= ?", micros(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", micros(f.To))
	}
	for _, eq := range []struct{ col, val string }{{"actor", f.Actor}, {"action", f.Action}, {"outcome", f.Outcome}} {
		if eq.val != "" {
			add(eq.col+" = ?", eq.val)
		}
	}
	if f.Q != "" {
		// SQLite's LIKE ignores ASCII case.
		p := store.LikePattern(f.Q)
		add(`(actor LIKE ? ESCAPE '\' OR action LIKE ? ESCAPE '\' OR target LIKE ? ESCAPE '\' OR detail LIKE ? ESCAPE '\'
			OR client_ip LIKE ? ESCAPE '\' OR request_id LIKE ? ESCAPE '\')`, p, p, p, p, p, p)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := d.r.QueryContext(ctx, `SELECT id, at, actor, account_id, client_ip, action, target, outcome, status, detail, request_id
		FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, d.fail("audit log", err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var (
			e  store.AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.AccountID, &e.ClientIP, &e.Action, &e.Target, &e.Outcome, &e.Status, &e.Detail, &e.RequestID); err != nil {
			return nil, d.fail("audit log", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("audit log", err)
	}
	return out, nil
}

// RetainAudit deletes the entries older than before.
func (d *DB) RetainAudit(ctx context.Context, before time.Time) (int64, error) {
	if err := d.writable(); err != nil {
		return 0, err
	}
	res, err := d.w.ExecContext(ctx, `DELETE FROM audit_log WHERE at < ?`, micros(before))
	if err != nil {
		return 0, d.fail("retain audit", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
