package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/live"
)

// sessionCookie holds a signed-in browser's session secret.
const sessionCookie = "pulse_session"

const principalKey ctxKey = 2

// PrincipalOf returns who made a request a guarded route serves.
func PrincipalOf(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey).(auth.Principal)
	return p, ok
}

// open reports whether r may be served without credentials: the server
// listens on loopback, auth is auto, no account exists yet, and r came
// straight from this machine (a request through a proxy is remote). It
// fails closed: a store that cannot say whether accounts exist closes it.
func (s *Server) open(r *http.Request) bool {
	if s.cfg.AuthRequired || !s.cfg.Loopback || !directFromLoopback(r) {
		return false
	}
	if s.deps.Auth == nil {
		return true
	}
	has, err := s.deps.Auth.HasAccounts(r.Context())
	if err != nil {
		s.log.Error("count accounts", "err", err)
		return false
	}
	return !has
}

// identify says who makes r: a Bearer token (the admin token or an API
// token), else a session cookie, else on an open server this machine's
// user. A credential that is sent and wrong is refused, never ignored.
func (s *Server) identify(r *http.Request) (auth.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := bearerToken(h)
		if !ok {
			return auth.Principal{}, Errorf(EUnauthorized, "the Authorization header must be \"Bearer <token>\"")
		}
		if s.cfg.AdminToken != "" && equalSecrets(token, s.cfg.AdminToken) {
			return auth.Principal{Kind: auth.KindAdminToken, Role: auth.Admin}, nil
		}
		if s.deps.Auth == nil {
			return auth.Principal{}, Errorf(EUnauthorized, "%s", auth.ErrBadToken)
		}
		p, err := s.deps.Auth.TokenPrincipal(r.Context(), token)
		if errors.Is(err, auth.ErrBadToken) {
			return auth.Principal{}, Errorf(EUnauthorized, "%s", err)
		}
		return p, err
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && s.deps.Auth != nil {
		p, err := s.deps.Auth.SessionPrincipal(r.Context(), c.Value)
		switch {
		case err == nil:
			return p, nil
		case !errors.Is(err, auth.ErrNoSession):
			return auth.Principal{}, err
		case !s.open(r):
			return auth.Principal{}, Errorf(EUnauthorized, "%s", err)
		}
	}
	if s.open(r) {
		return auth.Principal{Kind: auth.KindOpen, Role: auth.Admin}, nil
	}
	return auth.Principal{}, Errorf(EUnauthorized, "sign in or send an API token (Authorization: Bearer)")
}

// equalSecrets compares two secrets in constant time, their lengths too.
func equalSecrets(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// crossOrigin refuses unsafe browser requests from other origins (Go's
// Sec-Fetch-Site and Origin check); requests without those headers, from
// scripts, pass.
var crossOrigin = http.NewCrossOriginProtection()

// guard serves h to requests whose principal has at least the role need,
// and for a browser session's unsafe requests also the session's CSRF
// token. Public routes pass as they are.
func (s *Server) guard(need auth.Role, h http.Handler) http.Handler {
	if need == auth.Public {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.identify(r)
		if err == nil {
			notePrincipal(r, p)
			err = s.allow(r, p, need)
		}
		if err != nil {
			if StatusCode(err) == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pulse"`)
			}
			writeError(w, r, s.log, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

// allow checks p's role against need and a session's CSRF token.
func (s *Server) allow(r *http.Request, p auth.Principal, need auth.Role) error {
	if p.Role < need {
		return Errorf(EForbidden, "this needs the %s role; you have %s", need, p.Role)
	}
	if p.Kind == auth.KindSession && !safeMethod(r.Method) {
		return checkCSRF(r, p)
	}
	return nil
}

// checkCSRF holds a cookie-borne request to the session's token and to
// its own origin.
func checkCSRF(r *http.Request, p auth.Principal) error {
	if err := crossOrigin.Check(r); err != nil {
		return Errorf(EForbidden, "cross-origin request refused: %s", err)
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRF())) != 1 {
		return Errorf(EForbidden, "missing or wrong X-CSRF-Token header: reload the page, or send the csrf_token of GET /api/auth/me")
	}
	return nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// setSessionCookie gives the browser its session: HttpOnly (no script
// reads it), SameSite=Lax (not sent with cross-site posts), Secure when
// the page came over TLS, for as long as the session can last.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.overTLS(r),
	})
}

// overTLS reports whether the client reached us over TLS: directly, or
// through a trusted proxy that says so.
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer, err := netip.ParseAddr(peerIP(r))
	return err == nil && s.proxies.trusts(peer) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// recheckSocket has the hub ask again, while a WebSocket is open, whether
// its client still has the role: a session that ends, an account removed
// or demoted, a token revoked, or a first account closing an open server
// closes the socket with live.StatusSignInAgain. A store that does not
// answer closes nothing.
//
// A reader below the admin role gets every frame masked (live.WithMasked);
// an admin's socket closes when the role drops below, and the page's
// new one is masked.
func (s *Server) recheckSocket(need auth.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		masked := s.maskerFor(r) != nil
		check := func(ctx context.Context) error {
			p, err := s.identify(r.WithContext(ctx))
			switch {
			case err != nil && StatusCode(err) == http.StatusUnauthorized:
				return err
			case err != nil:
				return &live.Transient{Err: err}
			}
			if !masked && s.deps.Privacy != nil && p.Role < unmaskedRole {
				return Errorf(EForbidden, "the role changed to %s, which reads personal fields masked", p.Role)
			}
			return s.allow(r, p, need)
		}
		ctx := live.WithRecheck(r.Context(), check)
		if masked {
			ctx = live.WithMasked(ctx)
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
