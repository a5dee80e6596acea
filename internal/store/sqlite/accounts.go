package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

const accountColumns = `id, email, role, password_hash, coalesce(oidc_subject, ''), created_at, updated_at, last_sign_in_at`

func scanAccount(row scanner) (store.Account, error) {
	var (
		a                store.Account
		created, updated int64
		signedIn         sql.NullInt64
	)
	if err := row.Scan(&a.ID, &a.Email, &a.Role, &a.PasswordHash, &a.OIDCSubject, &created, &updated, &signedIn); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt, a.LastSignInAt = fromMicros(created), fromMicros(updated), fromNullMicros(signedIn)
	return a, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func uniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// CreateAccount stores a new account.
func (d *DB) CreateAccount(ctx context.Context, a store.Account) error {
	if err := d.writable(); err != nil {
		return err
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO accounts (id, email, role, password_hash, oidc_subject, created_at, updated_at, last_sign_in_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, strings.ToLower(a.Email), a.Role, a.PasswordHash, nullString(a.OIDCSubject),
		micros(a.CreatedAt), micros(a.UpdatedAt), nullMicros(a.LastSignInAt))
	if uniqueViolation(err) {
		return store.ErrAccountExists
	}
	if err != nil {
		return d.fail("create account", err)
	}
	return nil
}

func (d *DB) accountWhere(ctx context.Context, what, where string, arg any) (store.Account, error) {
	if err := d.usable(); err != nil {
		return store.Account{}, err
	}
	a, err := scanAccount(d.r.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, store.ErrNotFound
	}
	if err != nil {
		return store.Account{}, d.fail(what, err)
	}
	return a, nil
}

// AccountByEmail finds an account by email, in any case.
func (d *DB) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	return d.accountWhere(ctx, "account by email", `email = ?`, strings.ToLower(email))
}

// AccountByOIDC finds the account linked to an OpenID subject.
func (d *DB) AccountByOIDC(ctx context.Context, subject string) (store.Account, error) {
	if subject == "" {
		return store.Account{}, store.ErrNotFound
	}
	return d.accountWhere(ctx, "account by subject", `oidc_subject = ?`, subject)
}

// AccountByID finds an account.
func (d *DB) AccountByID(ctx context.Context, id string) (store.Account, error) {
	return d.accountWhere(ctx, "account", `id = ?`, id)
}

// AccountList returns every account, oldest first.
func (d *DB) AccountList(ctx context.Context) ([]store.Account, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY created_at, id`)
	if err != nil {
		return nil, d.fail("accounts", err)
	}
	defer rows.Close()
	out := []store.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, d.fail("accounts", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("accounts", err)
	}
	return out, nil
}

// AccountCount is how many accounts there are.
func (d *DB) AccountCount(ctx context.Context) (int, error) {
	if err := d.usable(); err != nil {
		return 0, err
	}
	var n int
	if err := d.r.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return 0, d.fail("count accounts", err)
	}
	return n, nil
}

// inTx runs fn in a transaction of the writer; the one writer connection
// makes it serial with every other write.
func (d *DB) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	if err := d.writable(); err != nil {
		return err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail(what, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		var known bool
		for _, e := range []error{store.ErrNotFound, store.ErrLastAdmin, store.ErrAccountExists, store.ErrTokenExists} {
			known = known || errors.Is(err, e)
		}
		if known {
			return err
		}
		return d.fail(what, err)
	}
	if err := tx.Commit(); err != nil {
		return d.fail(what, err)
	}
	return nil
}

// leavesAnAdmin reports ErrNotFound for no account id, or ErrLastAdmin
// when taking id out of the admins would leave none.
func leavesAnAdmin(ctx context.Context, tx *sql.Tx, id string) error {
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM accounts WHERE id = ?`, id).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil || role != store.RoleAdmin {
		return err
	}
	var others int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE role = ? AND id <> ?`, store.RoleAdmin, id).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return store.ErrLastAdmin
	}
	return nil
}

// SetAccountRole changes a role, keeping one admin.
func (d *DB) SetAccountRole(ctx context.Context, id, role string, at time.Time) (store.Account, error) {
	var a store.Account
	err := d.inTx(ctx, "set account role", func(tx *sql.Tx) error {
		if role != store.RoleAdmin {
			if err := leavesAnAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		var err error
		a, err = scanAccount(tx.QueryRowContext(ctx, `UPDATE accounts SET role = ?, updated_at = ? WHERE id = ? RETURNING `+accountColumns, role, micros(at), id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	return a, err
}

// SetAccountPassword replaces the hash and ends the account's sessions.
func (d *DB) SetAccountPassword(ctx context.Context, id, hash string, at time.Time) error {
	return d.inTx(ctx, "set account password", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, micros(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?`, id)
		return err
	})
}

// LinkAccountOIDC links an account to an OpenID subject.
func (d *DB) LinkAccountOIDC(ctx context.Context, id, subject string, at time.Time) error {
	if err := d.writable(); err != nil {
		return err
	}
	res, err := d.w.ExecContext(ctx, `UPDATE accounts SET oidc_subject = ?, updated_at = ? WHERE id = ?`, nullString(subject), micros(at), id)
	if uniqueViolation(err) {
		return store.ErrAccountExists
	}
	if err != nil {
		return d.fail("link account", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// NoteSignIn records a sign-in's time.
func (d *DB) NoteSignIn(ctx context.Context, id string, at time.Time) error {
	if err := d.writable(); err != nil {
		return err
	}
	if _, err := d.w.ExecContext(ctx, `UPDATE accounts SET last_sign_in_at = ? WHERE id = ?`, micros(at), id); err != nil {
		return d.fail("note sign-in", err)
	}
	return nil
}

// RemoveAccount deletes an account and its sessions and revokes its
// tokens, keeping one admin.
func (d *DB) RemoveAccount(ctx context.Context, id string, at time.Time) error {
	return d.inTx(ctx, "remove account", func(tx *sql.Tx) error {
		if err := leavesAnAdmin(ctx, tx, id); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`DELETE FROM sessions WHERE account_id = ?`, []any{id}},
			{`UPDATE api_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL`, []any{micros(at), id}},
			{`DELETE FROM accounts WHERE id = ?`, []any{id}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateSession stores a new session.
func (d *DB) CreateSession(ctx context.Context, s store.Session) error {
	if err := d.writable(); err != nil {
		return err
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO sessions (id, account_id, created_at, last_seen_at, expires_at, client_ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.ID, s.AccountID, micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt), s.ClientIP, s.UserAgent)
	if err != nil {
		return d.fail("create session", err)
	}
	return nil
}

// SessionByID returns a live session and its account.
func (d *DB) SessionByID(ctx context.Context, id string, now time.Time) (store.Session, store.Account, error) {
	if err := d.usable(); err != nil {
		return store.Session{}, store.Account{}, err
	}
	var (
		s                      store.Session
		created, seen, expires int64
	)
	row := d.r.QueryRowContext(ctx, `SELECT s.id, s.account_id, s.created_at, s.last_seen_at, s.expires_at, s.client_ip, s.user_agent
		FROM sessions s WHERE s.id = ? AND s.expires_at > ?`, id, micros(now))
	err := row.Scan(&s.ID, &s.AccountID, &created, &seen, &expires, &s.ClientIP, &s.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, store.Account{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, store.Account{}, d.fail("session", err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	a, err := d.AccountByID(ctx, s.AccountID)
	if err != nil {
		return store.Session{}, store.Account{}, err
	}
	return s, a, nil
}

// TouchSession moves a session's last use and expiry forward.
func (d *DB) TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error {
	if err := d.writable(); err != nil {
		return err
	}
	if _, err := d.w.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`, micros(lastSeen), micros(expires), id); err != nil {
		return d.fail("touch session", err)
	}
	return nil
}

// DeleteSession ends one session.
func (d *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := d.deleteSessions(ctx, `id = ?`, id)
	return err
}

// DeleteAccountSessions ends every session of an account.
func (d *DB) DeleteAccountSessions(ctx context.Context, accountID string) (int64, error) {
	return d.deleteSessions(ctx, `account_id = ?`, accountID)
}

// DeleteExpiredSessions deletes the sessions expired at now.
func (d *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	return d.deleteSessions(ctx, `expires_at <= ?`, micros(now))
}

func (d *DB) deleteSessions(ctx context.Context, where string, arg any) (int64, error) {
	if err := d.writable(); err != nil {
		return 0, err
	}
	res, err := d.w.ExecContext(ctx, `DELETE FROM sessions WHERE `+where, arg)
	if err != nil {
		return 0, d.fail("delete sessions", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

const tokenColumns = `id, name, hash, role, coalesce(account_id, ''), created_at, expires_at, last_used_at, revoked_at`

func scanToken(row scanner) (store.APIToken, error) {
	var (
		t                      store.APIToken
		created                int64
		expires, used, revoked sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Hash, &t.Role, &t.AccountID, &created, &expires, &used, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromMicros(created), fromNullMicros(expires), fromNullMicros(used), fromNullMicros(revoked)
	return t, nil
}

// CreateToken stores a new token.
func (d *DB) CreateToken(ctx context.Context, t store.APIToken) error {
	if err := d.writable(); err != nil {
		return err
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO api_tokens (id, name, hash, role, account_id, created_at, expires_at, last_used_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Name, t.Hash, t.Role, nullString(t.AccountID), micros(t.CreatedAt),
		nullMicros(t.ExpiresAt), nullMicros(t.LastUsedAt), nullMicros(t.RevokedAt))
	if uniqueViolation(err) {
		return store.ErrTokenExists
	}
	if err != nil {
		return d.fail("create token", err)
	}
	return nil
}

// TokenByHash returns the token whose secret hashes to hash.
func (d *DB) TokenByHash(ctx context.Context, hash string) (store.APIToken, error) {
	if err := d.usable(); err != nil {
		return store.APIToken{}, err
	}
	t, err := scanToken(d.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.APIToken{}, d.fail("token", err)
	}
	return t, nil
}

// TokenList returns every token, oldest first.
func (d *DB) TokenList(ctx context.Context) ([]store.APIToken, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, d.fail("tokens", err)
	}
	defer rows.Close()
	out := []store.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, d.fail("tokens", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("tokens", err)
	}
	return out, nil
}

// RevokeToken revokes a token; one revoked already keeps its first time.
func (d *DB) RevokeToken(ctx context.Context, id string, at time.Time) (store.APIToken, error) {
	if err := d.writable(); err != nil {
		return store.APIToken{}, err
	}
	t, err := scanToken(d.w.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING `+tokenColumns, micros(at), id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.APIToken{}, d.fail("revoke token", err)
	}
	return t, nil
}

// NoteTokenUse records a token's last use.
func (d *DB) NoteTokenUse(ctx context.Context, id string, at time.Time) error {
	if err := d.writable(); err != nil {
		return err
	}
	if _, err := d.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, micros(at), id); err != nil {
		return d.fail("note token use", err)
	}
	return nil
}
