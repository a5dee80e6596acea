package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/store"
)

// authRoutes serve signing in and out, who am I, and the admin's
// accounts and tokens.
func (s *Server) authRoutes(handle routeFunc) {
	handle("GET", "/api/auth/me/", auth.Public, s.wrap(s.me))
	handle("GET", "/api/auth/providers/", auth.Public, s.wrap(s.providers))
	if s.deps.Auth == nil {
		return
	}
	handle("POST", "/api/auth/login/", auth.Public, s.wrap(s.login))
	handle("POST", "/api/auth/logout/", auth.Public, s.wrap(s.logout))
	if s.deps.OIDC != nil {
		handle("GET", "/api/auth/oidc/login/", auth.Public, s.wrap(s.oidcLogin))
		handle("GET", "/api/auth/oidc/callback/", auth.Public, s.wrap(s.oidcCallback))
	}
	handle("GET", "/api/accounts/", auth.Admin, s.wrap(s.listAccounts))
	handle("POST", "/api/accounts/", auth.Admin, s.wrap(s.addAccount))
	handle("PATCH", "/api/accounts/{id}/", auth.Admin, s.wrap(s.updateAccount))
	handle("DELETE", "/api/accounts/{id}/", auth.Admin, s.wrap(s.removeAccount))
	handle("GET", "/api/tokens/", auth.Admin, s.wrap(s.listTokens))
	handle("POST", "/api/tokens/", auth.Admin, s.wrap(s.createToken))
	handle("DELETE", "/api/tokens/{id}/", auth.Admin, s.wrap(s.revokeToken))
}

// whoami is the answer of GET /api/auth/me/ and of a sign-in.
type whoami struct {
	// Kind is open, session, token or admin_token.
	Kind    auth.Kind      `json:"kind"`
	Role    string         `json:"role"`
	Account *store.Account `json:"account"`
	// CSRFToken goes in X-CSRF-Token with a session's unsafe requests.
	CSRFToken string `json:"csrf_token"`
}

func whoamiOf(p auth.Principal) whoami {
	return whoami{Kind: p.Kind, Role: p.Role.String(), Account: p.Account, CSRFToken: p.CSRF()}
}

// me says who the request is: 401 when no one, which sends the UI to its
// sign-in page.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p, err := s.identify(r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, whoamiOf(p))
}

// login checks an email and password and sets the session cookie. Wrong
// email and wrong password get the same 401; too many attempts 429.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	// A page elsewhere must not sign the browser in to an account of its
	// choosing (login CSRF).
	if err := crossOrigin.Check(r); err != nil {
		return Errorf(EForbidden, "cross-origin sign-in refused: %s", err)
	}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeBody(w, r, 4<<10, &in); err != nil {
		return err
	}
	if in.Email == "" || in.Password == "" {
		return Errorf(EInvalid, "give email and password")
	}
	noteActor(r, auditedEmail(in.Email), nil)
	noteAudit(r, auditedEmail(in.Email), "")
	in2, err := s.deps.Auth.Login(r.Context(), in.Email, in.Password, ClientIP(r), r.UserAgent())
	var limited *auth.RateLimitedError
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(limited.RetryAfter.Seconds())))))
		return Errorf(ERateLimited, "%s", limited)
	case errors.Is(err, auth.ErrBadCredentials):
		s.log.Info("sign-in refused", "client_ip", ClientIP(r), "request_id", RequestID(r.Context()))
		return Errorf(EUnauthorized, "%s", err)
	case err != nil:
		return fmt.Errorf("sign in: %w", err)
	}
	noteActor(r, in2.Account.Email, &auth.Principal{Kind: auth.KindSession, Account: &in2.Account})
	s.setSessionCookie(w, r, in2.Secret, int(in2.Session.ExpiresAt.Sub(in2.Session.CreatedAt).Seconds()))
	s.log.Info("signed in", "account_id", in2.Account.ID, "client_ip", ClientIP(r))
	w.Header().Set("Cache-Control", "no-store")
	role, _ := auth.ParseRole(in2.Account.Role)
	return writeJSON(w, http.StatusOK, whoami{Kind: auth.KindSession, Role: role.String(), Account: &in2.Account, CSRFToken: in2.CSRF})
}

// logout ends the browser's session, or with {"everywhere": true} every
// session of its account, and clears the cookie. A live session's
// logout needs its CSRF token, so that no other site can sign a user
// out.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Everywhere bool `json:"everywhere"`
	}
	if r.ContentLength != 0 {
		if err := decodeBody(w, r, 1<<10, &in); err != nil {
			return err
		}
	}
	c, err := r.Cookie(sessionCookie)
	if err == nil && c.Value != "" {
		p, err := s.deps.Auth.SessionPrincipal(r.Context(), c.Value)
		switch {
		case err == nil:
			noteActor(r, p.Account.Email, &p)
			if in.Everywhere {
				noteAudit(r, "", "everywhere")
			}
			if err := checkCSRF(r, p); err != nil {
				return err
			}
			if in.Everywhere {
				_, err = s.deps.Auth.LogoutEverywhere(r.Context(), p.Account.ID)
			} else {
				err = s.deps.Auth.Logout(r.Context(), c.Value)
			}
			if err != nil {
				return err
			}
			s.log.Info("signed out", "account_id", p.Account.ID, "everywhere", in.Everywhere)
		case !errors.Is(err, auth.ErrNoSession):
			return err
		}
	}
	s.setSessionCookie(w, r, "", -1)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// metricsGuard lets a scraper with the metrics token read /metrics, and
// otherwise holds it to an operator's credentials.
func (s *Server) metricsGuard(h http.Handler) http.Handler {
	guarded := s.guard(auth.Operator, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token, ok := bearerToken(r.Header.Get("Authorization")); ok && s.cfg.MetricsToken != "" && equalSecrets(token, s.cfg.MetricsToken) {
			h.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// auditedEmail is the email a sign-in tried, as the audit log names it:
// trimmed, lowercased, and cut short, for it is whatever a client sent.
func auditedEmail(email string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	if len(e) > 254 {
		e = strings.ToValidUTF8(e[:254], "")
	}
	return e
}
