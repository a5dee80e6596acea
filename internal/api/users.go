package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/store"
)

// Users reads users' pages; store.Users satisfies it.
type Users interface {
	UserProfile(ctx context.Context, userID string, now time.Time) (store.UserProfile, error)
}

// userRoutes registers the user's page when Deps.Users is set. The
// user's events are the explorer's (GET /api/events/?user_id=).
func (s *Server) userRoutes(handle routeFunc) {
	if s.deps.Users == nil {
		return
	}
	handle("GET", "/api/users/{user_id}/", auth.Viewer, s.wrap(s.userProfile))
}

// userProfile answers GET /api/users/{user_id}/: the user's first and
// last seen, events by type and day, and recent sessions. The id is
// path-escaped (a slash in it is %2F).
func (s *Server) userProfile(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("user_id")
	if len(id) > event.MaxIDLen {
		return Errorf(EInvalid, "user_id: longer than %d bytes", event.MaxIDLen)
	}
	if len(r.URL.Query()) > 0 {
		return Errorf(EInvalid, "the user's page takes no parameters")
	}
	// Opening a user's page by their id is a search by it.
	m := s.maskerFor(r)
	if m != nil && m.Fields().Personal(privacy.FieldUserID) {
		return Errorf(EForbidden, "user_id is a personal field: a user's page needs the %s role", unmaskedRole)
	}
	p, err := s.deps.Users.UserProfile(r.Context(), id, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(ENotFound, "no events for user %q", id)
	}
	if err != nil {
		return fmt.Errorf("user profile: %w", err)
	}
	if m != nil && m.Fields().Personal("session_id") {
		for i := range p.Sessions {
			p.Sessions[i].SessionID = m.Value(p.Sessions[i].SessionID)
		}
	}
	return writeJSON(w, http.StatusOK, p)
}
