package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pulse-dev/pulse/internal/alerts"
	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/store"
)

// Alerts manages the alert rules and reads their history.
type Alerts interface {
	Rules(ctx context.Context) ([]alerts.RuleView, error)
	Create(ctx context.Context, r alerts.Rule) (alerts.RuleView, error)
	Update(ctx context.Context, id string, r alerts.Rule) (alerts.RuleView, error)
	Delete(ctx context.Context, id string) error
	Silence(ctx context.Context, id string, until *time.Time) (alerts.RuleView, error)
	History(ctx context.Context, q store.AlertHistoryQuery) ([]store.AlertEvent, error)
}

// maxSilence bounds a silence: a forgotten one ends.
const maxSilence = 30 * 24 * time.Hour

// webhookRole is the least role that reads a webhook's URL whole: a
// chat's incoming-webhook URL is its secret.
const webhookRole = auth.Operator

func (s *Server) alertRoutes(handle routeFunc) {
	if s.deps.Alerts == nil {
		return
	}
	handle("GET", "/api/alerts/rules/", auth.Viewer, s.wrap(s.listAlertRules))
	handle("POST", "/api/alerts/rules/", auth.Operator, s.wrap(s.createAlertRule))
	handle("PUT", "/api/alerts/rules/{id}/", auth.Operator, s.wrap(s.updateAlertRule))
	handle("DELETE", "/api/alerts/rules/{id}/", auth.Operator, s.wrap(s.deleteAlertRule))
	handle("PUT", "/api/alerts/rules/{id}/silence/", auth.Operator, s.wrap(s.silenceAlertRule))
	handle("GET", "/api/alerts/history/", auth.Viewer, s.wrap(s.alertHistory))
}

// alertRuleBody is a rule as the API takes it: every member of a rule
// but its id (the server's to give); enabled defaults to true.
type alertRuleBody struct {
	Name          string          `json:"name"`
	Signal        string          `json:"signal"`
	EventType     string          `json:"event_type"`
	Page          string          `json:"page"`
	Compare       string          `json:"compare"`
	Window        alerts.Duration `json:"window"`
	Op            string          `json:"op"`
	Threshold     float64         `json:"threshold"`
	For           alerts.Duration `json:"for"`
	Hysteresis    float64         `json:"hysteresis"`
	Repeat        alerts.Duration `json:"repeat"`
	WebhookURL    string          `json:"webhook_url"`
	WebhookFormat string          `json:"webhook_format"`
	Enabled       *bool           `json:"enabled"`
}

func (b *alertRuleBody) rule() alerts.Rule {
	return alerts.Rule{Name: b.Name, Signal: b.Signal, EventType: b.EventType, Page: b.Page, Compare: b.Compare,
		Window: b.Window, Op: b.Op, Threshold: b.Threshold, For: b.For, Hysteresis: b.Hysteresis, Repeat: b.Repeat,
		WebhookURL: b.WebhookURL, WebhookFormat: b.WebhookFormat, Enabled: b.Enabled == nil || *b.Enabled}
}

// hideURL shows a viewer a webhook's scheme and host only.
func (s *Server) hideURL(r *http.Request, raw string) string {
	if p, ok := PrincipalOf(r.Context()); ok && p.Role >= webhookRole {
		return raw
	}
	return alerts.HostOf(raw)
}

func (s *Server) ruleOut(r *http.Request, v alerts.RuleView) alerts.RuleView {
	v.WebhookURL = s.hideURL(r, v.WebhookURL)
	return v
}

type alertRuleAnswer struct {
	Rule alerts.RuleView `json:"rule"`
}

func (s *Server) listAlertRules(w http.ResponseWriter, r *http.Request) error {
	all, err := s.deps.Alerts.Rules(r.Context())
	if err != nil {
		return fmt.Errorf("read the alert rules: %w", err)
	}
	for i := range all {
		all[i] = s.ruleOut(r, all[i])
	}
	return writeJSON(w, http.StatusOK, struct {
		Rules   []alerts.RuleView `json:"rules"`
		Signals []string          `json:"signals"`
		Max     int               `json:"max"`
	}{all, alerts.Signals, alerts.MaxRules})
}

// alertError maps the alerts' errors to the API's.
func alertError(id string, err error) error {
	var invalid *alerts.InvalidError
	switch {
	case errors.As(err, &invalid):
		return Errorf(EInvalid, "%s", invalid.Error())
	case errors.Is(err, alerts.ErrNotFound):
		return Errorf(ENotFound, "no alert rule with id %q", id)
	case errors.Is(err, alerts.ErrFileRule), errors.Is(err, alerts.ErrTooMany):
		return Errorf(EConflict, "%s", err.Error())
	}
	return err
}

func (s *Server) createAlertRule(w http.ResponseWriter, r *http.Request) error {
	var in alertRuleBody
	if err := decodeBody(w, r, 16<<10, &in); err != nil {
		return err
	}
	v, err := s.deps.Alerts.Create(r.Context(), in.rule())
	if err != nil {
		return alertError("", err)
	}
	noteAudit(r, "alert rule "+v.ID, v.Name)
	return writeJSON(w, http.StatusCreated, alertRuleAnswer{s.ruleOut(r, v)})
}

func (s *Server) updateAlertRule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var in alertRuleBody
	if err := decodeBody(w, r, 16<<10, &in); err != nil {
		return err
	}
	v, err := s.deps.Alerts.Update(r.Context(), id, in.rule())
	if err != nil {
		return alertError(id, err)
	}
	noteAudit(r, "alert rule "+id, v.Name)
	return writeJSON(w, http.StatusOK, alertRuleAnswer{s.ruleOut(r, v)})
}

func (s *Server) deleteAlertRule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.deps.Alerts.Delete(r.Context(), id); err != nil {
		return alertError(id, err)
	}
	noteAudit(r, "alert rule "+id, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// silenceAlertRule silences a rule until a time or for a duration; an
// until of null lifts the silence.
func (s *Server) silenceAlertRule(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var in struct {
		Until *time.Time `json:"until"`
		For   string     `json:"for"`
	}
	if err := decodeBody(w, r, 4<<10, &in); err != nil {
		return err
	}
	now := time.Now()
	var until *time.Time
	switch {
	case in.Until != nil && in.For != "":
		return Errorf(EInvalid, "until, for: give one of them")
	case in.For != "":
		d, err := time.ParseDuration(in.For)
		if err != nil || d <= 0 {
			return Errorf(EInvalid, "for: a positive duration such as \"2h\", not %q", in.For)
		}
		u := now.Add(d)
		until = &u
	case in.Until != nil:
		if !in.Until.After(now) {
			return Errorf(EInvalid, "until: %s is past; give a later time, or null to lift the silence", in.Until.Format(time.RFC3339))
		}
		until = in.Until
	}
	if until != nil && until.Sub(now) > maxSilence {
		return Errorf(EInvalid, "until: at most %d days ahead", int(maxSilence.Hours()/24))
	}
	v, err := s.deps.Alerts.Silence(r.Context(), id, until)
	if err != nil {
		return alertError(id, err)
	}
	detail := "silence lifted"
	if until != nil {
		detail = "silenced until " + until.UTC().Format(time.RFC3339)
	}
	noteAudit(r, "alert rule "+id, detail)
	return writeJSON(w, http.StatusOK, alertRuleAnswer{s.ruleOut(r, v)})
}

// alertEventOut is an alert history entry as the API shows it.
type alertEventOut struct {
	ID            int64              `json:"id"`
	RuleID        string             `json:"rule_id"`
	RuleName      string             `json:"rule_name"`
	Kind          string             `json:"kind"`
	At            time.Time          `json:"at"`
	Value         float64            `json:"value"`
	Silenced      bool               `json:"silenced"`
	Status        string             `json:"status"`
	URL           string             `json:"url"`
	Body          string             `json:"body"`
	Attempts      int                `json:"attempts"`
	NextAttemptAt *time.Time         `json:"next_attempt_at"`
	Deliveries    []alertDeliveryOut `json:"deliveries"`
}

type alertDeliveryOut struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error"`
	DurationMS float64   `json:"duration_ms"`
}

// alertHistory pages the alert history, newest first: next_before, when
// not null, is the before of the next page.
func (s *Server) alertHistory(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	hq := store.AlertHistoryQuery{RuleID: q.Get("rule"), Limit: store.DefaultLimit}
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 500 {
			return Errorf(EInvalid, "limit: a whole number from 1 to 500, not %q", raw)
		}
		hq.Limit = n
	}
	if raw := q.Get("before"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			return Errorf(EInvalid, "before: an event id (a positive whole number), not %q", raw)
		}
		hq.Before = n
	}
	if len(hq.RuleID) > 100 {
		return Errorf(EInvalid, "rule: at most 100 bytes")
	}
	events, err := s.deps.Alerts.History(r.Context(), hq)
	if err != nil {
		return fmt.Errorf("read the alert history: %w", err)
	}
	out := make([]alertEventOut, 0, len(events))
	for _, e := range events {
		o := alertEventOut{ID: e.ID, RuleID: e.RuleID, RuleName: e.RuleName, Kind: e.Kind, At: e.At, Value: e.Value,
			Silenced: e.Silenced, Status: e.Status, URL: s.hideURL(r, e.URL), Body: e.Body, Attempts: e.Attempts,
			Deliveries: make([]alertDeliveryOut, 0, len(e.Deliveries))}
		if e.Status == store.DeliveryPending {
			next := e.NextAttemptAt
			o.NextAttemptAt = &next
		}
		for _, d := range e.Deliveries {
			o.Deliveries = append(o.Deliveries, alertDeliveryOut{At: d.At, StatusCode: d.StatusCode, Error: d.Error, DurationMS: d.DurationMS})
		}
		out = append(out, o)
	}
	var next *int64
	if len(events) == hq.Limit {
		n := events[len(events)-1].ID
		next = &n
	}
	return writeJSON(w, http.StatusOK, struct {
		Events     []alertEventOut `json:"events"`
		NextBefore *int64          `json:"next_before"`
	}{out, next})
}
