package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// NewToken is an API token to make.
type NewToken struct {
	Name string
	Role string
	// TTL is how long it lasts; zero for no expiry.
	TTL time.Duration
	// By is the account making it (nil for the CLI): the token's role
	// may not exceed the account's, and removing the account revokes it.
	By *store.Account
}

// MaxTokenTTL bounds a token's life.
const MaxTokenTTL = 5 * 365 * 24 * time.Hour

// CreateToken makes an API token and returns it with its secret, which
// is shown once: the store keeps only its hash.
func (s *Service) CreateToken(ctx context.Context, n NewToken) (store.APIToken, string, error) {
	name := strings.TrimSpace(n.Name)
	if name == "" || len(name) > 100 {
		return store.APIToken{}, "", wrapInput("a token needs a name of 1 to 100 characters")
	}
	role, err := ParseRole(n.Role)
	if err != nil {
		return store.APIToken{}, "", &InputError{err}
	}
	if n.TTL < 0 || n.TTL > MaxTokenTTL {
		return store.APIToken{}, "", wrapInput("a token lasts at most %d days", int(MaxTokenTTL.Hours()/24))
	}
	t := store.APIToken{ID: newID("tok_"), Name: name, Role: role.String()}
	if n.By != nil {
		mine, err := ParseRole(n.By.Role)
		if err != nil {
			return store.APIToken{}, "", err
		}
		if role > mine {
			return store.APIToken{}, "", wrapInput("a %s cannot make a token with the %s role", mine, role)
		}
		t.AccountID = n.By.ID
	}
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	t.CreatedAt = now
	if n.TTL > 0 {
		exp := now.Add(n.TTL)
		t.ExpiresAt = &exp
	}
	secret := newSecret(tokenPrefix)
	t.Hash = secretHash(secret)
	if err := s.store.CreateToken(ctx, t); err != nil {
		return store.APIToken{}, "", err
	}
	return t, secret, nil
}

// TokenPrincipal identifies an API token; ErrBadToken when it is
// unknown, revoked or expired, or its account is gone. A token made by
// an account acts with the lower of its role and the account's now.
func (s *Service) TokenPrincipal(ctx context.Context, secret string) (Principal, error) {
	if !LooksLikeToken(secret) {
		return Principal{}, ErrBadToken
	}
	t, err := s.store.TokenByHash(ctx, secretHash(secret))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrBadToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("read token: %w", err)
	}
	now := s.opts.Now().UTC()
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return Principal{}, ErrBadToken
	}
	role, err := ParseRole(t.Role)
	if err != nil {
		return Principal{}, fmt.Errorf("token %s: %w", t.ID, err)
	}
	p := Principal{Kind: KindToken, Role: role, TokenID: t.ID}
	if t.AccountID != "" {
		a, err := s.store.AccountByID(ctx, t.AccountID)
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, ErrBadToken
		}
		if err != nil {
			return Principal{}, fmt.Errorf("read token's account: %w", err)
		}
		mine, err := ParseRole(a.Role)
		if err != nil {
			return Principal{}, fmt.Errorf("account %s: %w", a.ID, err)
		}
		p.Role, p.Account = min(p.Role, mine), &a
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if err := s.store.NoteTokenUse(ctx, t.ID, now.Truncate(time.Microsecond)); err != nil {
			s.log.Warn("note token use", "token_id", t.ID, "err", err)
		}
	}
	return p, nil
}

// Tokens lists the tokens, revoked ones too, oldest first.
func (s *Service) Tokens(ctx context.Context) ([]store.APIToken, error) {
	return s.store.TokenList(ctx)
}

// RevokeToken revokes a token.
func (s *Service) RevokeToken(ctx context.Context, id string) (store.APIToken, error) {
	return s.store.RevokeToken(ctx, id, s.opts.Now().UTC().Truncate(time.Microsecond))
}
