package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/store"
)

// Bounds of the saved insights: a team keeps a few dozen, and each is a
// page's URL parameters.
const (
	maxSavedInsights   = 200
	maxInsightName     = 100
	maxInsightQueryLen = 4096
)

// insightKinds are the pages an insight is saved from.
var insightKinds = []string{"trend", "funnel", "retention"}

func (s *Server) savedRoutes(handle routeFunc) {
	if s.deps.Saved == nil {
		return
	}
	handle("GET", "/api/insights/saved/", auth.Viewer, s.wrap(s.listSaved))
	handle("POST", "/api/insights/saved/", auth.Operator, s.wrap(s.createSaved))
	handle("PATCH", "/api/insights/saved/{id}/", auth.Operator, s.wrap(s.updateSaved))
	handle("DELETE", "/api/insights/saved/{id}/", auth.Operator, s.wrap(s.deleteSaved))
}

type savedAnswer struct {
	Insight store.SavedInsight `json:"insight"`
}

func (s *Server) listSaved(w http.ResponseWriter, r *http.Request) error {
	all, err := s.deps.Saved.SavedInsightList(r.Context())
	if err != nil {
		return fmt.Errorf("read the saved insights: %w", err)
	}
	return writeJSON(w, http.StatusOK, struct {
		Insights []store.SavedInsight `json:"insights"`
	}{all})
}

func (s *Server) createSaved(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Query  string `json:"query"`
		Pinned bool   `json:"pinned"`
	}
	if err := decodeBody(w, r, 16<<10, &in); err != nil {
		return err
	}
	name, err := insightName(in.Name)
	if err != nil {
		return err
	}
	if !slices.Contains(insightKinds, in.Kind) {
		return Errorf(EInvalid, "kind: must be trend, funnel or retention, not %q", in.Kind)
	}
	query, err := insightQuery(in.Query)
	if err != nil {
		return err
	}
	all, err := s.deps.Saved.SavedInsightList(r.Context())
	if err != nil {
		return fmt.Errorf("read the saved insights: %w", err)
	}
	if len(all) >= maxSavedInsights {
		return Errorf(EConflict, "at most %d saved insights: delete one first", maxSavedInsights)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	ins := store.SavedInsight{ID: "ins_" + strings.ReplaceAll(uuid.NewString(), "-", ""), Name: name, Kind: in.Kind,
		Query: query, Pinned: in.Pinned, CreatedAt: now, UpdatedAt: now}
	if err := s.deps.Saved.SaveInsight(r.Context(), ins); err != nil {
		return fmt.Errorf("save the insight: %w", err)
	}
	return writeJSON(w, http.StatusCreated, savedAnswer{ins})
}

// updateSaved renames, re-pins or re-queries a saved insight: what the body
// names changes, the rest stays.
func (s *Server) updateSaved(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   *string `json:"name"`
		Query  *string `json:"query"`
		Pinned *bool   `json:"pinned"`
	}
	if err := decodeBody(w, r, 16<<10, &in); err != nil {
		return err
	}
	if in.Name == nil && in.Query == nil && in.Pinned == nil {
		return Errorf(EInvalid, "nothing to change: give name, query or pinned")
	}
	c := store.InsightChange{Pinned: in.Pinned, At: time.Now().UTC().Truncate(time.Microsecond)}
	if in.Name != nil {
		name, err := insightName(*in.Name)
		if err != nil {
			return err
		}
		c.Name = &name
	}
	if in.Query != nil {
		query, err := insightQuery(*in.Query)
		if err != nil {
			return err
		}
		c.Query = &query
	}
	id := r.PathValue("id")
	ins, err := s.deps.Saved.UpdateInsight(r.Context(), id, c)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(ENotFound, "no saved insight with id %q", id)
	}
	if err != nil {
		return fmt.Errorf("update the insight: %w", err)
	}
	return writeJSON(w, http.StatusOK, savedAnswer{ins})
}

func (s *Server) deleteSaved(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := s.deps.Saved.DeleteInsight(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(ENotFound, "no saved insight with id %q", id)
	}
	if err != nil {
		return fmt.Errorf("delete the insight: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// insightName is a name trimmed, refused when empty, too long or holding
// control characters.
func insightName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	switch {
	case name == "":
		return "", Errorf(EInvalid, "name: required")
	case !utf8.ValidString(name):
		return "", Errorf(EInvalid, "name: not valid UTF-8")
	case utf8.RuneCountInString(name) > maxInsightName:
		return "", Errorf(EInvalid, "name: at most %d characters", maxInsightName)
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", Errorf(EInvalid, "name: control characters are not allowed")
	}
	return name, nil
}

// insightQuery is a page's URL parameters without a leading "?", refused
// when too long or not a query string.
func insightQuery(raw string) (string, error) {
	q := strings.TrimPrefix(raw, "?")
	if len(q) > maxInsightQueryLen {
		return "", Errorf(EInvalid, "query: at most %d bytes", maxInsightQueryLen)
	}
	if _, err := url.ParseQuery(q); err != nil {
		return "", Errorf(EInvalid, "query: not a URL query string: %v", err)
	}
	if !utf8.ValidString(q) || strings.ContainsFunc(q, unicode.IsControl) {
		return "", Errorf(EInvalid, "query: must be URL-encoded text")
	}
	return q, nil
}
