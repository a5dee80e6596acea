package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/store"
)

// PlanStore keeps the tracking plan and its warnings (store.Plan).
type PlanStore interface {
	PlanEntries(ctx context.Context) ([]store.PlanEntry, error)
	PutPlanEntry(ctx context.Context, e store.PlanEntry) error
	DeletePlanEntry(ctx context.Context, eventType string) error
	ReplacePlan(ctx context.Context, entries []store.PlanEntry) error
	PlanWarnings(ctx context.Context, sourceID string, since time.Time, limit int) ([]store.PlanWarning, error)
}

// PlanRules is the plan the collector holds events to; Load makes a
// change count at once on this server.
type PlanRules interface {
	Load(ctx context.Context) error
}

// maxPlanBody bounds a whole plan's request (MaxEntries schemas of a
// few KB each; one at the limit is 64 KB).
const maxPlanBody = 4 << 20

// maxWarnings bounds the warnings of one answer.
const maxWarnings = 500

func (s *Server) planRoutes(handle routeFunc) {
	if s.deps.Plan == nil {
		return
	}
	handle("GET", "/api/plan/", auth.Viewer, s.wrap(s.getPlan))
	handle("PUT", "/api/plan/", auth.Admin, s.wrap(s.replacePlan))
	handle("PUT", "/api/plan/types/{event_type}/", auth.Admin, s.wrap(s.putPlanEntry))
	handle("DELETE", "/api/plan/types/{event_type}/", auth.Admin, s.wrap(s.deletePlanEntry))
	handle("GET", "/api/plan/warnings/", auth.Viewer, s.wrap(s.planWarnings))
}

// planEntryIn is an entry as a client sends it: the schema kept as the
// client wrote it.
type planEntryIn struct {
	EventType   string         `json:"event_type"`
	Description string         `json:"description"`
	Schema      jsontext.Value `json:"schema"`
}

func (e planEntryIn) entry(at time.Time) store.PlanEntry {
	return store.PlanEntry{EventType: e.EventType, Description: e.Description, Schema: json.RawMessage(e.Schema), UpdatedAt: at}
}

type planView struct {
	Entries []store.PlanEntry `json:"entries"`
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.deps.Plan.PlanEntries(r.Context())
	if err != nil {
		return fmt.Errorf("read the plan: %w", err)
	}
	if entries == nil {
		entries = []store.PlanEntry{}
	}
	return writeJSON(w, http.StatusOK, planView{entries})
}

// replacePlan makes the body's entries the whole plan (a plan file
// applied): every entry is checked first, and either all are stored or
// none.
func (s *Server) replacePlan(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Entries []planEntryIn `json:"entries"`
	}
	if err := decodeBody(w, r, maxPlanBody, &in); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	entries := make([]store.PlanEntry, len(in.Entries))
	for i, e := range in.Entries {
		entries[i] = e.entry(now)
	}
	if _, err := plan.Compile(entries); err != nil {
		return Errorf(EInvalid, "%v", err)
	}
	if err := s.deps.Plan.ReplacePlan(r.Context(), entries); err != nil {
		return fmt.Errorf("replace the plan: %w", err)
	}
	s.planChanged(r)
	s.log.Info("tracking plan replaced", "event_types", len(entries), "request_id", RequestID(r.Context()))
	return writeJSON(w, http.StatusOK, planView{entries})
}

func (s *Server) putPlanEntry(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Description string         `json:"description"`
		Schema      jsontext.Value `json:"schema"`
	}
	if err := decodeBody(w, r, plan.MaxSchemaBytes+16<<10, &in); err != nil {
		return err
	}
	e := planEntryIn{EventType: r.PathValue("event_type"), Description: in.Description, Schema: in.Schema}.entry(time.Now().UTC().Truncate(time.Microsecond))
	if err := plan.CheckEntry(e); err != nil {
		return Errorf(EInvalid, "%v", err)
	}
	entries, err := s.deps.Plan.PlanEntries(r.Context())
	if err != nil {
		return fmt.Errorf("read the plan: %w", err)
	}
	if len(entries) >= plan.MaxEntries && !hasType(entries, e.EventType) {
		return Errorf(EInvalid, "event_type: the plan holds %d event types, the limit", plan.MaxEntries)
	}
	if err := s.deps.Plan.PutPlanEntry(r.Context(), e); err != nil {
		return fmt.Errorf("store the plan entry: %w", err)
	}
	s.planChanged(r)
	s.log.Info("tracking plan entry stored", "event_type", e.EventType, "request_id", RequestID(r.Context()))
	return writeJSON(w, http.StatusOK, struct {
		Entry store.PlanEntry `json:"entry"`
	}{e})
}

func hasType(entries []store.PlanEntry, t string) bool {
	for _, e := range entries {
		if e.EventType == t {
			return true
		}
	}
	return false
}

func (s *Server) deletePlanEntry(w http.ResponseWriter, r *http.Request) error {
	t := r.PathValue("event_type")
	switch err := s.deps.Plan.DeletePlanEntry(r.Context(), t); {
	case errors.Is(err, store.ErrNotFound):
		return Errorf(ENotFound, "%q is not in the tracking plan", t)
	case err != nil:
		return fmt.Errorf("delete the plan entry: %w", err)
	}
	s.planChanged(r)
	s.log.Info("tracking plan entry deleted", "event_type", t, "request_id", RequestID(r.Context()))
	return writeJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{t})
}

// planChanged makes a change count at once on this server; others read
// it within their refresh.
func (s *Server) planChanged(r *http.Request) {
	if s.deps.PlanRules == nil {
		return
	}
	if err := s.deps.PlanRules.Load(r.Context()); err != nil {
		s.log.Warn("reloading the tracking plan failed", "err", err)
	}
}

// planWarnings answers GET /api/plan/warnings/: what broke the plan in
// the range, per source, event type and problem, the latest first.
func (s *Server) planWarnings(w http.ResponseWriter, r *http.Request) error {
	rg, err := parseRange(r)
	if err != nil {
		return err
	}
	from, to := rg.Window(time.Now())
	ws, err := s.deps.Plan.PlanWarnings(r.Context(), r.URL.Query().Get("source"), from, maxWarnings)
	if err != nil {
		return fmt.Errorf("read the warnings: %w", err)
	}
	if ws == nil {
		ws = []store.PlanWarning{}
	}
	if m := s.maskerFor(r); m != nil {
		maskPlanWarnings(m, ws)
	}
	return writeJSON(w, http.StatusOK, struct {
		Range    string              `json:"range"`
		From     time.Time           `json:"from"`
		To       time.Time           `json:"to"`
		Warnings []store.PlanWarning `json:"warnings"`
	}{rg.Name, from.UTC(), to.UTC(), ws})
}
