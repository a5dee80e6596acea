package store

import (
	"context"
	"errors"
	"time"
)

// Account is someone who signs in to Pulse (docs/accounts.md): by email
// and password, or through an OpenID provider. The people Pulse tracks
// are users (see Users); the people who use Pulse are accounts.
type Account struct {
	ID string `json:"id"`
	// Email is stored lowercased; it is unique.
	Email string `json:"email"`
	// Role is viewer, operator or admin (package auth).
	Role string `json:"role"`
	// PasswordHash is the password's hash in PHC format; empty for an
	// account that signs in only through an OpenID provider. Never sent.
	PasswordHash string `json:"-"`
	// OIDCSubject is "<issuer> <subject>" of the provider's account it is
	// linked to; empty when none. Unique when set.
	OIDCSubject  string     `json:"-"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	LastSignInAt *time.Time `json:"last_sign_in_at"`
}

// Session is a signed-in browser. The cookie holds a random token; the
// store keeps only its SHA-256 (ID), so a copy of the database signs no
// one in.
type Session struct {
	// ID is the hex SHA-256 of the session's token.
	ID        string
	AccountID string
	CreatedAt time.Time
	// LastSeenAt and ExpiresAt move forward as the session is used
	// (TouchSession); the session ends at ExpiresAt.
	LastSeenAt time.Time
	ExpiresAt  time.Time
	ClientIP   string
	UserAgent  string
}

// APIToken is a credential for scripts and CI, sent as a Bearer token.
// Like a session, only the token's SHA-256 is kept.
type APIToken struct {
	// ID is public (it names the token in lists and the audit log).
	ID   string `json:"id"`
	Name string `json:"name"`
	// Hash is the hex SHA-256 of the secret token. Never sent.
	Hash string `json:"-"`
	Role string `json:"role"`
	// AccountID is the account that made it; empty when made by the CLI.
	// Removing the account revokes its tokens.
	AccountID  string     `json:"account_id"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Errors of the accounts.
var (
	// ErrAccountExists: another account has the email (or the OpenID
	// subject).
	ErrAccountExists = errors.New("an account with this email exists")
	// ErrLastAdmin: the change would leave no admin account.
	ErrLastAdmin = errors.New("the last admin cannot be removed or demoted")
	// ErrTokenExists: an unrevoked token has the name.
	ErrTokenExists = errors.New("a token with this name exists")
)

// RoleAdmin is the role ErrLastAdmin protects.
const RoleAdmin = "admin"

// Accounts keeps the accounts, their sessions and the API tokens.
type Accounts interface {
	// CreateAccount stores a new account; ErrAccountExists when the
	// email (compared lowercased) or the OIDC subject is taken.
	CreateAccount(ctx context.Context, a Account) error
	// AccountByEmail finds an account by email, in any case;
	// ErrNotFound when there is none.
	AccountByEmail(ctx context.Context, email string) (Account, error)
	// AccountByOIDC finds the account linked to an OpenID subject;
	// ErrNotFound when there is none.
	AccountByOIDC(ctx context.Context, subject string) (Account, error)
	// AccountByID finds an account; ErrNotFound when there is none.
	AccountByID(ctx context.Context, id string) (Account, error)
	// AccountList returns every account, oldest first.
	AccountList(ctx context.Context) ([]Account, error)
	// AccountCount is how many accounts there are.
	AccountCount(ctx context.Context) (int, error)
	// SetAccountRole changes a role and returns the account; ErrNotFound
	// when there is none, ErrLastAdmin when it would demote the last
	// admin (checked in the same transaction, so two demotions at once
	// cannot both pass).
	SetAccountRole(ctx context.Context, id, role string, at time.Time) (Account, error)
	// SetAccountPassword replaces the password's hash and ends every
	// session of the account; ErrNotFound when there is none.
	SetAccountPassword(ctx context.Context, id, hash string, at time.Time) error
	// LinkAccountOIDC links an account to an OpenID subject;
	// ErrNotFound when there is none, ErrAccountExists when another
	// account has the subject.
	LinkAccountOIDC(ctx context.Context, id, subject string, at time.Time) error
	// NoteSignIn records a sign-in's time.
	NoteSignIn(ctx context.Context, id string, at time.Time) error
	// RemoveAccount deletes an account and its sessions and revokes its
	// tokens, at at; ErrNotFound when there is none, ErrLastAdmin when
	// it is the last admin.
	RemoveAccount(ctx context.Context, id string, at time.Time) error

	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s Session) error
	// SessionByID returns a session that has not expired at now, and its
	// account; ErrNotFound otherwise.
	SessionByID(ctx context.Context, id string, now time.Time) (Session, Account, error)
	// TouchSession moves a session's LastSeenAt and ExpiresAt forward.
	// A session that is gone is not an error.
	TouchSession(ctx context.Context, id string, lastSeen, expires time.Time) error
	// DeleteSession ends one session; one that is gone is not an error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteAccountSessions ends every session of an account and returns
	// how many there were.
	DeleteAccountSessions(ctx context.Context, accountID string) (int64, error)
	// DeleteExpiredSessions deletes the sessions expired at now and
	// returns how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)

	// CreateToken stores a new token; ErrTokenExists when an unrevoked
	// token has the name.
	CreateToken(ctx context.Context, t APIToken) error
	// TokenByHash returns the token whose secret hashes to hash, revoked
	// and expired ones too (the caller says why it refuses them);
	// ErrNotFound when there is none.
	TokenByHash(ctx context.Context, hash string) (APIToken, error)
	// TokenList returns every token, revoked ones too, oldest first.
	TokenList(ctx context.Context) ([]APIToken, error)
	// RevokeToken revokes a token at at and returns it; one revoked
	// already keeps its first time. ErrNotFound when there is none.
	RevokeToken(ctx context.Context, id string, at time.Time) (APIToken, error)
	// NoteTokenUse records a token's last use.
	NoteTokenUse(ctx context.Context, id string, at time.Time) error
}
