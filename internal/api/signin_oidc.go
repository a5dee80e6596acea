package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/oidc"
	"github.com/pulse-dev/pulse/internal/store"
)

// oidcLoginPath is where the sign-in page's "Sign in with" button goes.
const oidcLoginPath = "/api/auth/oidc/login/"

// providers is the answer of GET /api/auth/providers/: the ways to sign
// in, for the sign-in page.
type providers struct {
	Password bool          `json:"password"`
	OIDC     *oidcProvider `json:"oidc"`
}

type oidcProvider struct {
	Name     string `json:"name"`
	LoginURL string `json:"login_url"`
}

func (s *Server) providers(w http.ResponseWriter, r *http.Request) error {
	out := providers{Password: s.deps.Auth != nil}
	if s.deps.Auth != nil && s.deps.OIDC != nil {
		out.OIDC = &oidcProvider{Name: s.deps.OIDC.Name(), LoginURL: oidcLoginPath}
	}
	return writeJSON(w, http.StatusOK, out)
}

// oidcLogin starts a sign-in through the provider: the flow cookie, and
// a redirect to the provider's authorization page. ?next= is the page
// to open once signed in (a path of this site; anything else is /).
func (s *Server) oidcLogin(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	to, err := s.deps.OIDC.Begin(r.Context(), w, s.overTLS(r), r.URL.Query().Get("next"))
	if err != nil {
		s.log.Warn("oidc sign-in not started", "client_ip", ClientIP(r), "err", err)
		http.Redirect(w, r, signinError(err), http.StatusFound)
		return nil
	}
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// oidcCallback is where the provider sends the browser back: on success
// the session cookie and a redirect to the page the sign-in began for;
// on a refusal a redirect to /?signin_error=<reason>, which the sign-in
// page shows. Both are recorded in the audit log.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	id, next, err := s.deps.OIDC.Finish(ctx, w, r, s.overTLS(r))
	if id.Subject != "" {
		actor := id.Email
		if actor == "" {
			actor = id.Key()
		}
		noteActor(r, auditedEmail(actor), nil)
		noteAudit(r, id.Key(), "")
	}
	if err != nil {
		return s.oidcRefused(w, r, err)
	}
	in, err := s.deps.Auth.LoginOIDC(ctx, auth.OIDCIdentity{Key: id.Key(), Email: id.Email, EmailVerified: id.EmailVerified, Role: id.Role}, ClientIP(r), r.UserAgent())
	var input *auth.InputError
	switch {
	case errors.Is(err, auth.ErrOIDCNoEmail), errors.Is(err, auth.ErrOIDCUnverified), errors.Is(err, auth.ErrOIDCLinkedElsewhere), errors.As(err, &input):
		return s.oidcRefused(w, r, &oidc.Error{Reason: err.Error()})
	case err != nil:
		s.log.Error("oidc sign-in failed", "subject", id.Key(), "request_id", RequestID(ctx), "err", err)
		noteOutcome(r, store.AuditFailed, "the server could not sign you in")
		http.Redirect(w, r, "/?signin_error="+url.QueryEscape("the server could not sign you in: try again"), http.StatusFound)
		return nil
	}
	noteActor(r, in.Account.Email, &auth.Principal{Kind: auth.KindSession, Account: &in.Account})
	noteAudit(r, id.Key(), oidcDetail(in))
	s.setSessionCookie(w, r, in.Secret, int(in.Session.ExpiresAt.Sub(in.Session.CreatedAt).Seconds()))
	s.log.Info("signed in", "account_id", in.Account.ID, "client_ip", ClientIP(r), "via", "oidc", "created", in.Created, "linked", in.Linked)
	http.Redirect(w, r, next, http.StatusFound)
	return nil
}

// oidcRefused answers a refused sign-in: logged with its detail,
// recorded with its reason, and shown on the sign-in page.
func (s *Server) oidcRefused(w http.ResponseWriter, r *http.Request, err error) error {
	s.log.Info("sign-in refused", "via", "oidc", "client_ip", ClientIP(r), "request_id", RequestID(r.Context()), "err", err)
	reason := err.Error()
	var oe *oidc.Error
	if errors.As(err, &oe) {
		reason = oe.Reason
	}
	noteOutcome(r, store.AuditRefused, reason)
	http.Redirect(w, r, signinError(err), http.StatusFound)
	return nil
}

// signinError is the sign-in page showing why a sign-in failed.
func signinError(err error) string {
	reason := "the sign-in failed: try again"
	var oe *oidc.Error
	if errors.As(err, &oe) {
		reason = oe.Reason
	}
	return "/?signin_error=" + url.QueryEscape(reason)
}

// oidcDetail is the audit entry's summary of a sign-in.
func oidcDetail(in auth.OIDCSignIn) string {
	parts := []string{"role " + in.Account.Role}
	switch {
	case in.Created:
		parts = append(parts, "account created")
	case in.Linked:
		parts = append(parts, "linked by verified email")
	}
	if in.RoleWas != "" {
		parts = append(parts, fmt.Sprintf("was %s", in.RoleWas))
	}
	if in.RoleKept {
		parts = append(parts, "kept: the last admin")
	}
	return strings.Join(parts, ", ")
}
