package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/store"
)

// unaudited are the unsafe routes the audit log leaves out: the data
// plane, where every call is an event, not an action of a person, and
// the funnel, a read that is a POST only because its steps do not fit a
// query string (an open funnel page asks it every minute).
var unaudited = map[string]bool{
	"POST /api/events/create/":   true,
	"POST /api/events/batch/":    true,
	"POST /api/collect/":         true,
	"POST /api/insights/funnel/": true,
}

// auditedReads are the reads the audit log records: bulk exports of
// what may be personal data.
var auditedReads = map[string]bool{
	"GET /api/events/export/": true,
	"GET /api/audit/export/":  true,
	// A sign-in through an OpenID provider ends with a GET.
	"GET /api/auth/oidc/callback/": true,
}

// audited reports whether a route's calls are recorded.
func audited(method, path string) bool {
	key := method + " " + path
	if safeMethod(method) {
		return auditedReads[key]
	}
	return !unaudited[key]
}

const auditKey ctxKey = 3

// auditNote is what a request's audit entry says beyond the request
// itself: who the guard found, and what the handler acted on.
type auditNote struct {
	principal *auth.Principal
	// actor overrides the principal's name (a sign-in names the email
	// it tried).
	actor  string
	target string
	detail string
	// outcome overrides the one the status gives (a refused sign-in
	// through a provider answers with a redirect).
	outcome string
}

// noteAudit lets a handler say what it acted on and how it went, for
// the audit entry of its request; a request not audited ignores it.
func noteAudit(r *http.Request, target, detail string) {
	if n, ok := r.Context().Value(auditKey).(*auditNote); ok {
		if target != "" {
			n.target = target
		}
		if detail != "" {
			n.detail = detail
		}
	}
}

// noteOutcome says how a request went when its status does not (a
// refusal or failure answered with a redirect, with its reason), or more
// than its error answer does; its detail replaces the answer's.
func noteOutcome(r *http.Request, outcome, detail string) {
	if n, ok := r.Context().Value(auditKey).(*auditNote); ok {
		n.outcome, n.detail = outcome, detail
	}
}

// noteActor names who acted when no principal does (a sign-in).
func noteActor(r *http.Request, actor string, p *auth.Principal) {
	if n, ok := r.Context().Value(auditKey).(*auditNote); ok {
		n.actor, n.principal = actor, p
	}
}

// notePrincipal is the guard telling the audit entry who passed.
func notePrincipal(r *http.Request, p auth.Principal) {
	if n, ok := r.Context().Value(auditKey).(*auditNote); ok {
		n.principal = &p
	}
}

// audit records every call of an audited route once it is answered:
// refused and failed ones too, with the reason the client was given.
func (s *Server) audit(method, path string, h http.Handler) http.Handler {
	if s.deps.Audit == nil || !audited(method, path) {
		return h
	}
	action := method + " " + path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		note := &auditNote{}
		rec := &errorCapture{ResponseWriter: w}
		start := time.Now()
		h.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), auditKey, note)))
		e := store.AuditEntry{
			At: start.UTC().Truncate(time.Microsecond), ClientIP: ClientIP(r), Action: action,
			Target: note.target, Status: rec.code(), Detail: note.detail, RequestID: RequestID(r.Context()),
		}
		if e.Target == "" {
			e.Target = targetOf(r)
		}
		switch {
		case e.Status >= 500:
			e.Outcome = store.AuditFailed
		case e.Status >= 400:
			e.Outcome = store.AuditRefused
		default:
			e.Outcome = store.AuditOK
		}
		if e.Status >= 400 {
			e.Detail = rec.errorText()
		}
		if note.outcome != "" {
			// A handler that says how it went says it in full (a
			// rewind refused after moving some partitions).
			e.Outcome = note.outcome
			if note.detail != "" {
				e.Detail = note.detail
			}
		}
		switch {
		case note.actor != "":
			e.Actor = note.actor
		case note.principal != nil:
			e.Actor = note.principal.Name()
		default:
			e.Actor = "anonymous"
		}
		if note.principal != nil && note.principal.Account != nil {
			e.AccountID = note.principal.Account.ID
		}
		// Recorded even when the client has gone: the action happened.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		if err := s.deps.Audit.AppendAudit(ctx, e); err != nil {
			s.log.Error("audit entry lost", "action", action, "actor", e.Actor, "outcome", e.Outcome, "err", err)
		}
	})
}

// targetOf is what a request names in its path: its path values.
func targetOf(r *http.Request) string {
	var parts []string
	for _, name := range []string{"id", "event_type", "key", "event_id", "user_id"} {
		if v := r.PathValue(name); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " ")
}

// errorCapture keeps the status and, of an error answer, the body's
// start, to read the {"error"} the client was told.
type errorCapture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *errorCapture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *errorCapture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.status >= 400 && c.body.Len() < 1024 {
		c.body.Write(p[:min(len(p), 1024-c.body.Len())])
	}
	return c.ResponseWriter.Write(p)
}

func (c *errorCapture) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *errorCapture) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *errorCapture) code() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}

func (c *errorCapture) errorText() string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(c.body.Bytes(), &e) == nil && e.Error != "" {
		return e.Error
	}
	return http.StatusText(c.code())
}
