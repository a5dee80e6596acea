package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pulse-dev/pulse/internal/ratelimit"
	"github.com/pulse-dev/pulse/internal/store"
)

// Kind says how a request was identified.
type Kind string

// The kinds of principal.
const (
	// KindOpen: the server is open (loopback, no accounts) and the
	// request came straight from this machine.
	KindOpen Kind = "open"
	// KindSession: a signed-in browser's cookie.
	KindSession Kind = "session"
	// KindToken: an API token.
	KindToken Kind = "token"
	// KindAdminToken: the operator's PULSE_ADMIN_TOKEN.
	KindAdminToken Kind = "admin_token"
)

// Principal is who is asking, and what they may do.
type Principal struct {
	Kind Kind
	Role Role
	// Account is the signed-in account, or the account that made the
	// token; nil otherwise.
	Account *store.Account
	// SessionID is the session's store id (the secret's hash); TokenID
	// the token's public id.
	SessionID string
	TokenID   string
	// csrf is the session's CSRF token.
	csrf string
}

// CSRF returns the CSRF token a session's unsafe requests must carry;
// empty for the other kinds, which carry no ambient credential.
func (p Principal) CSRF() string { return p.csrf }

// Name is how logs and the audit log name the principal.
func (p Principal) Name() string {
	switch {
	case p.Account != nil && p.Kind == KindToken:
		return "token " + p.TokenID + " of " + p.Account.Email
	case p.Account != nil:
		return p.Account.Email
	case p.Kind == KindToken:
		return "token " + p.TokenID
	}
	return string(p.Kind)
}

// Errors of signing in and of credentials. Their texts are what the
// client is told.
var (
	// ErrBadCredentials is the one answer for an unknown email and a
	// wrong password, so that it tells an attacker nothing.
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrNoSession: the cookie names no live session.
	ErrNoSession = errors.New("the session has ended: sign in again")
	// ErrBadToken: the API token is unknown, revoked or expired.
	ErrBadToken = errors.New("the API token is unknown, revoked or expired")
)

// RateLimitedError is a sign-in refused by the login limit.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many sign-in attempts: try again in %d s", int(e.RetryAfter.Seconds()+0.999))
}

// Options tune the service; zero fields take the defaults.
type Options struct {
	// SessionIdle ends a session unused this long (7 days);
	// SessionMax ends any session this long after sign-in (30 days).
	SessionIdle time.Duration
	SessionMax  time.Duration
	// Hash is the cost of new password hashes (DefaultHashParams).
	Hash HashParams
	// LoginPerIP and LoginPerEmail are the sign-in attempts allowed per
	// minute per client address and per email, in bursts of as many.
	LoginPerIP    int
	LoginPerEmail int
	// Now is the clock (time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.SessionIdle <= 0 {
		o.SessionIdle = 7 * 24 * time.Hour
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 30 * 24 * time.Hour
	}
	if o.Hash == (HashParams{}) {
		o.Hash = DefaultHashParams
	}
	if o.LoginPerIP <= 0 {
		o.LoginPerIP = 10
	}
	if o.LoginPerEmail <= 0 {
		o.LoginPerEmail = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// touchEvery is how stale a session's or token's last use may get before
// a request writes it: a write per request would make every read a write.
const touchEvery = time.Minute

// Service signs accounts in and identifies requests.
type Service struct {
	store store.Accounts
	opts  Options
	log   *slog.Logger
	// dummyHash is verified for an unknown email, so that it costs what a
	// wrong password does.
	dummyHash string
	perIP     *ratelimit.Keyed
	perEmail  *ratelimit.Keyed
	// hasAccounts caches that an account exists: the last admin cannot
	// be removed, so once true it stays true.
	hasAccounts atomic.Bool
	checkedAt   atomic.Int64
}

// New returns a service over the store's accounts.
func New(accounts store.Accounts, opts Options, log *slog.Logger) (*Service, error) {
	opts.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dummy, err := HashPassword(newSecret(""), opts.Hash)
	if err != nil {
		return nil, err
	}
	perMinute := func(n int) *ratelimit.Keyed { return ratelimit.New(float64(n)/60, n, opts.Now) }
	return &Service{
		store: accounts, opts: opts, log: log.With("component", "auth"), dummyHash: dummy,
		perIP: perMinute(opts.LoginPerIP), perEmail: perMinute(opts.LoginPerEmail),
	}, nil
}

// HasAccounts reports whether any account exists. It asks the store at
// most once a second until one does (an account added by the CLI, in
// another process, closes an open server within a second).
func (s *Service) HasAccounts(ctx context.Context) (bool, error) {
	if s.hasAccounts.Load() {
		return true, nil
	}
	now := s.opts.Now().UnixNano()
	if last := s.checkedAt.Load(); now-last < int64(time.Second) && last != 0 {
		return false, nil
	}
	n, err := s.store.AccountCount(ctx)
	if err != nil {
		return false, fmt.Errorf("count accounts: %w", err)
	}
	s.checkedAt.Store(now)
	if n > 0 {
		s.hasAccounts.Store(true)
	}
	return n > 0, nil
}

// SignIn is a successful sign-in: the session's secret goes in the
// cookie, its CSRF token to the page.
type SignIn struct {
	Secret  string
	CSRF    string
	Session store.Session
	Account store.Account
}

// Login checks an email and password and opens a session. Unknown
// emails and wrong passwords get ErrBadCredentials after the same work;
// too many attempts from clientIP or for the email a *RateLimitedError
// before any.
func (s *Service) Login(ctx context.Context, email, password, clientIP, userAgent string) (SignIn, error) {
	email = normalEmail(email)
	if ok, wait := s.perIP.Allow(clientIP); !ok {
		return SignIn{}, &RateLimitedError{RetryAfter: wait}
	}
	if ok, wait := s.perEmail.Allow(email); !ok {
		return SignIn{}, &RateLimitedError{RetryAfter: wait}
	}
	a, err := s.store.AccountByEmail(ctx, email)
	hash := a.PasswordHash
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash = ""
	case err != nil:
		return SignIn{}, fmt.Errorf("find account: %w", err)
	}
	if hash == "" {
		// No such account, or one that signs in through OpenID only:
		// the same work and answer as a wrong password.
		_, _ = VerifyPassword(password, s.dummyHash)
		return SignIn{}, ErrBadCredentials
	}
	ok, err := VerifyPassword(password, hash)
	if err != nil {
		return SignIn{}, fmt.Errorf("account %s: stored hash: %w", a.ID, err)
	}
	if !ok {
		return SignIn{}, ErrBadCredentials
	}
	return s.open(ctx, a, clientIP, userAgent)
}

// open starts a session for a.
func (s *Service) open(ctx context.Context, a store.Account, clientIP, userAgent string) (SignIn, error) {
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	secret := newSecret(sessionPrefix)
	sess := store.Session{
		ID: secretHash(secret), AccountID: a.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(min(s.opts.SessionIdle, s.opts.SessionMax)),
		ClientIP:  clientIP, UserAgent: truncate(userAgent, 256),
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return SignIn{}, fmt.Errorf("open session: %w", err)
	}
	if err := s.store.NoteSignIn(ctx, a.ID, now); err != nil {
		return SignIn{}, fmt.Errorf("note sign-in: %w", err)
	}
	a.LastSignInAt = &now
	return SignIn{Secret: secret, CSRF: CSRFToken(secret), Session: sess, Account: a}, nil
}

// SessionPrincipal identifies a session cookie's secret; ErrNoSession
// when it names no live session. A session used after touchEvery moves
// its expiry forward, up to SessionMax after sign-in.
func (s *Service) SessionPrincipal(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, sessionPrefix) {
		return Principal{}, ErrNoSession
	}
	now := s.opts.Now().UTC()
	sess, a, err := s.store.SessionByID(ctx, secretHash(secret), now)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, fmt.Errorf("read session: %w", err)
	}
	role, err := ParseRole(a.Role)
	if err != nil {
		return Principal{}, fmt.Errorf("account %s: %w", a.ID, err)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		expires := now.Add(s.opts.SessionIdle)
		if end := sess.CreatedAt.Add(s.opts.SessionMax); end.Before(expires) {
			expires = end
		}
		if err := s.store.TouchSession(ctx, sess.ID, now.Truncate(time.Microsecond), expires); err != nil {
			s.log.Warn("touch session", "account_id", a.ID, "err", err)
		}
	}
	return Principal{Kind: KindSession, Role: role, Account: &a, SessionID: sess.ID, csrf: CSRFToken(secret)}, nil
}

// Logout ends the session of a cookie's secret.
func (s *Service) Logout(ctx context.Context, secret string) error {
	if err := s.store.DeleteSession(ctx, secretHash(secret)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// LogoutEverywhere ends every session of an account.
func (s *Service) LogoutEverywhere(ctx context.Context, accountID string) (int64, error) {
	n, err := s.store.DeleteAccountSessions(ctx, accountID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return n, nil
}

// normalEmail is an email as stored and compared.
func normalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CheckEmail says what is wrong with an account's email, or nil.
func CheckEmail(email string) error {
	if len(email) > 254 {
		return errors.New("the email is longer than 254 characters")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return fmt.Errorf("%q is not an email address like name@example.com", email)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
