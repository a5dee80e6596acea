package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// NewAccount is an account to add: its password is hashed here, never
// stored.
type NewAccount struct {
	Email    string
	Role     string
	Password string
}

// AddAccount checks and adds an account with a password.
func (s *Service) AddAccount(ctx context.Context, n NewAccount) (store.Account, error) {
	email := normalEmail(n.Email)
	if err := CheckEmail(email); err != nil {
		return store.Account{}, &InputError{err}
	}
	role, err := ParseRole(n.Role)
	if err != nil {
		return store.Account{}, &InputError{err}
	}
	if err := CheckPassword(n.Password); err != nil {
		return store.Account{}, &InputError{err}
	}
	hash, err := HashPassword(n.Password, s.opts.Hash)
	if err != nil {
		return store.Account{}, err
	}
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	a := store.Account{ID: newID("acc_"), Email: email, Role: role.String(), PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return store.Account{}, err
	}
	s.hasAccounts.Store(true)
	return a, nil
}

// SetRole changes an account's role (store.ErrLastAdmin keeps one
// admin). Its sessions stay: each request reads the role afresh.
func (s *Service) SetRole(ctx context.Context, id, role string) (store.Account, error) {
	r, err := ParseRole(role)
	if err != nil {
		return store.Account{}, &InputError{err}
	}
	return s.store.SetAccountRole(ctx, id, r.String(), s.opts.Now().UTC().Truncate(time.Microsecond))
}

// SetPassword replaces an account's password and ends its sessions.
func (s *Service) SetPassword(ctx context.Context, id, password string) error {
	if err := CheckPassword(password); err != nil {
		return &InputError{err}
	}
	hash, err := HashPassword(password, s.opts.Hash)
	if err != nil {
		return err
	}
	return s.store.SetAccountPassword(ctx, id, hash, s.opts.Now().UTC().Truncate(time.Microsecond))
}

// RemoveAccount removes an account, its sessions and its tokens.
func (s *Service) RemoveAccount(ctx context.Context, id string) error {
	return s.store.RemoveAccount(ctx, id, s.opts.Now().UTC().Truncate(time.Microsecond))
}

// Account finds an account by id or, failing that, by email.
func (s *Service) Account(ctx context.Context, idOrEmail string) (store.Account, error) {
	a, err := s.store.AccountByID(ctx, idOrEmail)
	if err == nil {
		return a, nil
	}
	return s.store.AccountByEmail(ctx, normalEmail(idOrEmail))
}

// Accounts lists the accounts, oldest first.
func (s *Service) Accounts(ctx context.Context) ([]store.Account, error) {
	return s.store.AccountList(ctx)
}

// InputError is a request the service refuses for what it asks: the
// caller's mistake, told to them as is.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// wrapInput is InputError's constructor for formatted messages.
func wrapInput(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}
