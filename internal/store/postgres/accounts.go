package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pulse-dev/pulse/internal/store"
)

const accountColumns = `id, email, role, password_hash, coalesce(oidc_subject, ''), created_at, updated_at, last_sign_in_at`

func scanAccount(row pgx.Row) (store.Account, error) {
	var a store.Account
	if err := row.Scan(&a.ID, &a.Email, &a.Role, &a.PasswordHash, &a.OIDCSubject, &a.CreatedAt, &a.UpdatedAt, &a.LastSignInAt); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt, a.LastSignInAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC(), utc(a.LastSignInAt)
	return a, nil
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	s = clean(s)
	return &s
}

func uniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// CreateAccount stores a new account.
func (d *DB) CreateAccount(ctx context.Context, a store.Account) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO accounts (id, email, role, password_hash, oidc_subject, created_at, updated_at, last_sign_in_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, clean(a.ID), clean(strings.ToLower(a.Email)), clean(a.Role), clean(a.PasswordHash),
		nullString(a.OIDCSubject), a.CreatedAt, a.UpdatedAt, a.LastSignInAt)
	if uniqueViolation(err) {
		return store.ErrAccountExists
	}
	if err != nil {
		return d.fail("create account", err)
	}
	return nil
}

func (d *DB) accountWhere(ctx context.Context, what, where, arg string) (store.Account, error) {
	if d.closed.Load() {
		return store.Account{}, store.ErrClosed
	}
	a, err := scanAccount(d.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE `+where, clean(arg)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, store.ErrNotFound
	}
	if err != nil {
		return store.Account{}, d.fail(what, err)
	}
	return a, nil
}

// AccountByEmail finds an account by email, in any case.
func (d *DB) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	return d.accountWhere(ctx, "account by email", `email = $1`, strings.ToLower(email))
}

// AccountByOIDC finds the account linked to an OpenID subject.
func (d *DB) AccountByOIDC(ctx context.Context, subject string) (store.Account, error) {
	if subject == "" {
		return store.Account{}, store.ErrNotFound
	}
	return d.accountWhere(ctx, "account by subject", `oidc_subject = $1`, subject)
}

// AccountByID finds an account.
func (d *DB) AccountByID(ctx context.Context, id string) (store.Account, error) {
	return d.accountWhere(ctx, "account", `id = $1`, id)
}

// AccountList returns every account, oldest first.
func (d *DB) AccountList(ctx context.Context) ([]store.Account, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY created_at, id`)
	if err != nil {
		return nil, d.fail("accounts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Account, error) { return scanAccount(r) })
	if err != nil {
		return nil, d.fail("accounts", err)
	}
	if out == nil {
		out = []store.Account{}
	}
	return out, nil
}

// AccountCount is how many accounts there are.
func (d *DB) AccountCount(ctx context.Context) (int, error) {
	if d.closed.Load() {
		return 0, store.ErrClosed
	}
	var n int
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return 0, d.fail("count accounts", err)
	}
	return n, nil
}

// inTx runs fn in a transaction; the accounts' own refusals pass as
// they are.
func (d *DB) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	err := pgx.BeginFunc(ctx, d.pool, fn)
	for _, e := range []error{store.ErrNotFound, store.ErrLastAdmin, store.ErrAccountExists, store.ErrTokenExists} {
		if errors.Is(err, e) {
			return err
		}
	}
	if err != nil {
		return d.fail(what, err)
	}
	return nil
}

// leavesAnAdmin reports ErrNotFound for no account id, or ErrLastAdmin
// when taking id out of the admins would leave none. It locks the admin
// rows first, so that of two transactions taking out the last two admins
// at once, the second waits and then sees the first's change.
func leavesAnAdmin(ctx context.Context, tx pgx.Tx, id string) error {
	rows, err := tx.Query(ctx, `SELECT id FROM accounts WHERE role = $1 ORDER BY id FOR UPDATE`, store.RoleAdmin)
	if err != nil {
		return err
	}
	admins, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, id).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return store.ErrNotFound
	}
	if len(admins) == 1 && admins[0] == id {
		return store.ErrLastAdmin
	}
	return nil
}

// SetAccountRole changes a role, keeping one admin.
func (d *DB) SetAccountRole(ctx context.Context, id, role string, at time.Time) (store.Account, error) {
	id = clean(id)
	var a store.Account
	err := d.inTx(ctx, "set account role", func(tx pgx.Tx) error {
		if role != store.RoleAdmin {
			if err := leavesAnAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		var err error
		a, err = scanAccount(tx.QueryRow(ctx, `UPDATE accounts SET role = $1, updated_at = $2 WHERE id = $3 RETURNING `+accountColumns, clean(role), at, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	return a, err
}

// SetAccountPassword replaces the hash and ends the account's sessions.
func (d *DB) SetAccountPassword(ctx context.Context, id, hash string, at time.Time) error {
	id = clean(id)
	return d.inTx(ctx, "set account password", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3`, clean(hash), at, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1`, id)
		return err
	})
}

// LinkAccountOIDC links an account to an OpenID subject.
func (d *DB) LinkAccountOIDC(ctx context.Context, id, subject string, at time.Time) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	tag, err := d.pool.Exec(ctx, `UPDATE accounts SET oidc_subject = $1, updated_at = $2 WHERE id = $3`, nullString(subject), at, clean(id))
	if uniqueViolation(err) {
		return store.ErrAccountExists
	}
	if err != nil {
		return d.fail("link account", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// NoteSignIn records a sign-in's time.
func (d *DB) NoteSignIn(ctx context.Context, id string, at time.Time) error {
	return d.exec(ctx, "note sign-in", `UPDATE accounts SET last_sign_in_at = $1 WHERE id = $2`, at, clean(id))
}

// RemoveAccount deletes an account and its sessions and revokes its
// tokens, keeping one admin.
func (d *DB) RemoveAccount(ctx context.Context, id string, at time.Time) error {
	id = clean(id)
	return d.inTx(ctx, "remove account", func(tx pgx.Tx) error {
		if err := leavesAnAdmin(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL`, at, id); err != nil {
			return err
		}
		// The sessions go with the account (ON DELETE CASCADE).
		_, err := tx.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, id)
		return err
	})
}

func (d *DB) exec(ctx context.Context, what, sql string, args ...any) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	if _, err := d.pool.Exec(ctx, sql, args...); err != nil {
		return d.fail(what, err)
	}
	return nil
}

// CreateSession stores a new session.
func (d *DB) CreateSession(ctx context.Context, s store.Session) error {
	return d.exec(ctx, "create session", `INSERT INTO sessions (id, account_id, created_at, last_seen_at, expires_at, client_ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, clean(s.ID), clean(s.AccountID), s.CreatedAt, s.LastSeenAt, s.ExpiresAt, clean(s.ClientIP), clean(s.UserAgent))
}

// SessionByID returns a live session and its account, in one query.
func (d *DB) SessionByID(ctx context.Context, id string, now time.Time) (store.Session, store.Account, error) {
	if d.closed.Load() {
		return store.Session{}, store.Account{}, store.ErrClosed
	}
	var (
		s store.Session
		a store.Account
	)
	err := d.pool.QueryRow(ctx, `SELECT s.id, s.account_id, s.created_at, s.last_seen_at, s.expires_at, s.client_ip, s.user_agent,
			a.id, a.email, a.role, a.password_hash, coalesce(a.oidc_subject, ''), a.created_at, a.updated_at, a.last_sign_in_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id = $1 AND s.expires_at > $2`, clean(id), now).
		Scan(&s.ID, &s.AccountID, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.ClientIP, &s.UserAgent,
			&a.ID, &a.Email, &a.Role, &a.PasswordHash, &a.OIDCSubject, &a.CreatedAt, &a.UpdatedAt, &a.LastSignInAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Session{}, store.Account{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, store.Account{}, d.fail("session", err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	a.CreatedAt, a.UpdatedAt, a.LastSignInAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC(), utc(a.LastSignInAt)
	return s, a, nil
}

// TouchSession moves a session's last use and expiry forward.
func (d *DB) TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error {
	return d.exec(ctx, "touch session", `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3`, lastSeen, expires, clean(id))
}

// DeleteSession ends one session.
func (d *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := d.deleteSessions(ctx, `id = $1`, clean(id))
	return err
}

// DeleteAccountSessions ends every session of an account.
func (d *DB) DeleteAccountSessions(ctx context.Context, accountID string) (int64, error) {
	return d.deleteSessions(ctx, `account_id = $1`, clean(accountID))
}

// DeleteExpiredSessions deletes the sessions expired at now.
func (d *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	return d.deleteSessions(ctx, `expires_at <= $1`, now)
}

func (d *DB) deleteSessions(ctx context.Context, where string, arg any) (int64, error) {
	if d.closed.Load() {
		return 0, store.ErrClosed
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM sessions WHERE `+where, arg)
	if err != nil {
		return 0, d.fail("delete sessions", err)
	}
	return tag.RowsAffected(), nil
}

const tokenColumns = `id, name, hash, role, coalesce(account_id, ''), created_at, expires_at, last_used_at, revoked_at`

func scanToken(row pgx.Row) (store.APIToken, error) {
	var t store.APIToken
	if err := row.Scan(&t.ID, &t.Name, &t.Hash, &t.Role, &t.AccountID, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = t.CreatedAt.UTC(), utc(t.ExpiresAt), utc(t.LastUsedAt), utc(t.RevokedAt)
	return t, nil
}

// CreateToken stores a new token.
func (d *DB) CreateToken(ctx context.Context, t store.APIToken) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO api_tokens (id, name, hash, role, account_id, created_at, expires_at, last_used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, clean(t.ID), clean(t.Name), clean(t.Hash), clean(t.Role), nullString(t.AccountID),
		t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt)
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
	if d.closed.Load() {
		return store.APIToken{}, store.ErrClosed
	}
	t, err := scanToken(d.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, clean(hash)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.APIToken{}, d.fail("token", err)
	}
	return t, nil
}

// TokenList returns every token, oldest first.
func (d *DB) TokenList(ctx context.Context) ([]store.APIToken, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, d.fail("tokens", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.APIToken, error) { return scanToken(r) })
	if err != nil {
		return nil, d.fail("tokens", err)
	}
	if out == nil {
		out = []store.APIToken{}
	}
	return out, nil
}

// RevokeToken revokes a token; one revoked already keeps its first time.
func (d *DB) RevokeToken(ctx context.Context, id string, at time.Time) (store.APIToken, error) {
	if d.closed.Load() {
		return store.APIToken{}, store.ErrClosed
	}
	t, err := scanToken(d.pool.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING `+tokenColumns, at, clean(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.APIToken{}, d.fail("revoke token", err)
	}
	return t, nil
}

// NoteTokenUse records a token's last use.
func (d *DB) NoteTokenUse(ctx context.Context, id string, at time.Time) error {
	return d.exec(ctx, "note token use", `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, at, clean(id))
}
