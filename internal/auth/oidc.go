package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// OIDCIdentity is someone an OpenID provider signed in (package oidc),
// with the role the role map gives them.
type OIDCIdentity struct {
	// Key is "<issuer> <subject>": what the account is linked to.
	Key string
	// Email names a new account, and links an existing account with
	// that email when EmailVerified.
	Email         string
	EmailVerified bool
	Role          Role
}

// OIDCSignIn is a sign-in through an OpenID provider and what it did to
// the account, for the audit log.
type OIDCSignIn struct {
	SignIn
	// Created: the sign-in created the account; Linked: it linked the
	// account that had the email.
	Created, Linked bool
	// RoleWas is the role before the role map changed it; empty when
	// it did not.
	RoleWas string
	// RoleKept: the role map asked for a lower role, but the account is
	// the last admin, which keeps its role.
	RoleKept bool
}

// Refusals of a sign-in through an OpenID provider. Their texts are
// what the person is told.
var (
	ErrOIDCNoEmail = errors.New("the provider sent no email address: Pulse needs the email scope")
	// ErrOIDCUnverified: an account has the email, but the provider
	// does not vouch for it; linking it would let anyone who can claim
	// an address at the provider take the account.
	ErrOIDCUnverified = errors.New("an account with this email exists, but the provider does not say the email is verified, so they are not linked")
	// ErrOIDCLinkedElsewhere: the account with the email is linked to
	// another of the provider's accounts.
	ErrOIDCLinkedElsewhere = errors.New("the account with this email signs in through another account of the provider")
)

// LoginOIDC opens a session for someone an OpenID provider signed in:
// the account linked to id.Key; else the account with the email, linked
// now when the provider says the email is verified; else a new account
// with the email. The account's role becomes id.Role at each sign-in
// (the last admin keeps admin).
func (s *Service) LoginOIDC(ctx context.Context, id OIDCIdentity, clientIP, userAgent string) (OIDCSignIn, error) {
	if id.Role < Viewer || id.Role > Admin {
		return OIDCSignIn{}, fmt.Errorf("oidc sign-in with role %s", id.Role)
	}
	var out OIDCSignIn
	a, err := s.store.AccountByOIDC(ctx, id.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a, err = s.linkOrCreate(ctx, id, &out)
		if errors.Is(err, store.ErrAccountExists) {
			// A sign-in of the same person at the same time created it.
			out = OIDCSignIn{}
			a, err = s.store.AccountByOIDC(ctx, id.Key)
		}
		if err != nil {
			return out, err
		}
	case err != nil:
		return out, fmt.Errorf("find account: %w", err)
	}
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	if a.Role != id.Role.String() {
		updated, err := s.store.SetAccountRole(ctx, a.ID, id.Role.String(), now)
		switch {
		case errors.Is(err, store.ErrLastAdmin):
			out.RoleKept = true
			s.log.Warn("oidc role map would demote the last admin: role kept", "account_id", a.ID, "mapped_role", id.Role.String())
		case err != nil:
			return out, fmt.Errorf("set role: %w", err)
		default:
			out.RoleWas, a = a.Role, updated
		}
	}
	in, err := s.open(ctx, a, clientIP, userAgent)
	if err != nil {
		return out, err
	}
	out.SignIn = in
	return out, nil
}

// linkOrCreate finds the account with id's email and links it, or
// creates one.
func (s *Service) linkOrCreate(ctx context.Context, id OIDCIdentity, out *OIDCSignIn) (store.Account, error) {
	email := normalEmail(id.Email)
	if email == "" {
		return store.Account{}, ErrOIDCNoEmail
	}
	if err := CheckEmail(email); err != nil {
		return store.Account{}, &InputError{fmt.Errorf("the provider's email: %w", err)}
	}
	now := s.opts.Now().UTC().Truncate(time.Microsecond)
	a, err := s.store.AccountByEmail(ctx, email)
	switch {
	case err == nil:
		if !id.EmailVerified {
			return store.Account{}, ErrOIDCUnverified
		}
		if a.OIDCSubject != "" {
			return store.Account{}, ErrOIDCLinkedElsewhere
		}
		if err := s.store.LinkAccountOIDC(ctx, a.ID, id.Key, now); err != nil {
			return store.Account{}, fmt.Errorf("link account: %w", err)
		}
		a.OIDCSubject, a.UpdatedAt = id.Key, now
		out.Linked = true
		return a, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.Account{}, fmt.Errorf("find account: %w", err)
	}
	a = store.Account{ID: newID("acc_"), Email: email, Role: id.Role.String(), OIDCSubject: id.Key, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return store.Account{}, fmt.Errorf("create account: %w", err)
	}
	s.hasAccounts.Store(true)
	out.Created = true
	return a, nil
}
