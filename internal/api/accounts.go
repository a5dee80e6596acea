package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/store"
)

// accountError turns the accounts' refusals into the API's errors.
func accountError(err error) error {
	var in *auth.InputError
	switch {
	case errors.As(err, &in):
		return Errorf(EInvalid, "%s", in)
	case errors.Is(err, store.ErrNotFound):
		return Errorf(ENotFound, "no such account")
	case errors.Is(err, store.ErrAccountExists), errors.Is(err, store.ErrLastAdmin), errors.Is(err, store.ErrTokenExists):
		return Errorf(EConflict, "%s", err)
	}
	return err
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	all, err := s.deps.Auth.Accounts(r.Context())
	if err != nil {
		return fmt.Errorf("read the accounts: %w", err)
	}
	return writeJSON(w, http.StatusOK, struct {
		Accounts []store.Account `json:"accounts"`
	}{all})
}

type accountAnswer struct {
	Account store.Account `json:"account"`
}

func (s *Server) addAccount(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := decodeBody(w, r, 4<<10, &in); err != nil {
		return err
	}
	a, err := s.deps.Auth.AddAccount(r.Context(), auth.NewAccount{Email: in.Email, Role: in.Role, Password: in.Password})
	if err != nil {
		return accountError(err)
	}
	return writeJSON(w, http.StatusCreated, accountAnswer{a})
}

// updateAccount sets an account's role or password (which ends its
// sessions).
func (s *Server) updateAccount(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Role     *string `json:"role"`
		Password *string `json:"password"`
	}
	if err := decodeBody(w, r, 4<<10, &in); err != nil {
		return err
	}
	if in.Role == nil && in.Password == nil {
		return Errorf(EInvalid, "nothing to change: give role or password")
	}
	if in.Password != nil {
		if err := auth.CheckPassword(*in.Password); err != nil {
			return Errorf(EInvalid, "%s", err)
		}
	}
	id := r.PathValue("id")
	if in.Role != nil {
		if _, err := s.deps.Auth.SetRole(r.Context(), id, *in.Role); err != nil {
			return accountError(err)
		}
	}
	if in.Password != nil {
		if err := s.deps.Auth.SetPassword(r.Context(), id, *in.Password); err != nil {
			return accountError(err)
		}
	}
	a, err := s.deps.Auth.Account(r.Context(), id)
	if err != nil {
		return accountError(err)
	}
	return writeJSON(w, http.StatusOK, accountAnswer{a})
}

func (s *Server) removeAccount(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Auth.RemoveAccount(r.Context(), r.PathValue("id")); err != nil {
		return accountError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	all, err := s.deps.Auth.Tokens(r.Context())
	if err != nil {
		return fmt.Errorf("read the tokens: %w", err)
	}
	return writeJSON(w, http.StatusOK, struct {
		Tokens []store.APIToken `json:"tokens"`
	}{all})
}

// createToken makes an API token; its secret is in this answer only.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name      string `json:"name"`
		Role      string `json:"role"`
		ExpiresIn string `json:"expires_in"`
	}
	if err := decodeBody(w, r, 4<<10, &in); err != nil {
		return err
	}
	var ttl time.Duration
	if in.ExpiresIn != "" {
		d, err := parseDays(in.ExpiresIn)
		if err != nil {
			return Errorf(EInvalid, "expires_in: %s", err)
		}
		ttl = d
	}
	p, _ := PrincipalOf(r.Context())
	t, secret, err := s.deps.Auth.CreateToken(r.Context(), auth.NewToken{Name: in.Name, Role: in.Role, TTL: ttl, By: p.Account})
	if err != nil {
		return accountError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, struct {
		Token  store.APIToken `json:"token"`
		Secret string         `json:"secret"`
	}{t, secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	t, err := s.deps.Auth.RevokeToken(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(ENotFound, "no such token")
	}
	if err != nil {
		return fmt.Errorf("revoke the token: %w", err)
	}
	return writeJSON(w, http.StatusOK, struct {
		Token store.APIToken `json:"token"`
	}{t})
}

// parseDays reads a token's life: a Go duration ("720h") or days ("30d").
func parseDays(s string) (time.Duration, error) {
	var days int
	if n, err := fmt.Sscanf(s, "%dd", &days); err == nil && n == 1 && fmt.Sprintf("%dd", days) == s {
		if days <= 0 {
			return 0, errors.New("must be positive")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration like 30d or 12h", s)
	}
	return d, nil
}
