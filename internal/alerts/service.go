package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/metrics"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/store"
)

// Store is what the alerts keep and read in the database.
type Store interface {
	store.Alerts
	Counts
}

// MarkerWriter keeps the chart markers of firings and resolutions.
type MarkerWriter interface {
	WriteMarkers(ctx context.Context, ms []event.Marker) error
}

// Publisher sends the markers to the live charts.
type Publisher interface {
	Publish(event.Change)
}

// Config tunes the evaluation and the deliveries; zero fields take their
// defaults.
type Config struct {
	// Interval is how often the rules are evaluated.
	Interval time.Duration
	// HistoryKeep is how long the alert history is kept.
	HistoryKeep time.Duration
	Delivery    DeliveryConfig
	// Now is the clock (tests set it).
	Now func() time.Time
	// AllowNet are the ranges webhooks may reach besides the public
	// internet (a receiver on this host, an internal chat proxy).
	AllowNet []netip.Prefix
	// Client sends the webhooks; nil: one that follows no redirect and
	// connects to no address outside the public internet and AllowNet.
	Client *http.Client
}

// Deps are the parts the alerts read and write.
type Deps struct {
	Store Store
	// Group is the group monitor; nil: lag and consumer rules have no
	// value.
	Group   Group
	Markers MarkerWriter
	Bus     Publisher
	// FileRules are the rules of the rules file: evaluated as the
	// console's, changed only by changing the file.
	FileRules []Rule
}

// Sources of a rule.
const (
	SourceAPI  = "api"
	SourceFile = "file"
)

// Errors of the rule management calls.
var (
	ErrNotFound = store.ErrNotFound
	// ErrFileRule refuses to change a rule of the rules file.
	ErrFileRule = errors.New("the rule comes from the rules file: change the file and restart")
	// ErrTooMany refuses a rule beyond MaxRules.
	ErrTooMany = fmt.Errorf("at most %d alert rules: delete one first", MaxRules)
)

// InvalidError is a rule refused, naming the field.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// Service evaluates the rules and delivers their notifications; it also
// manages the console's rules. Create it with New and run it with Run.
type Service struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	now    func() time.Time
	client *http.Client
	egress egress

	evaluations prometheus.Counter
	evalErrors  prometheus.Counter
	firings     prometheus.Counter
	deliveries  *prometheus.CounterVec

	// mu guards rd (the evaluation loop and EvaluateOnce in tests).
	mu sync.Mutex
	rd reader
	// wake tells the delivery loop a notification was just made.
	wake chan struct{}
}

// New returns the service, checking the file's rules.
func New(cfg Config, deps Deps, log *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if deps.Store == nil {
		return nil, errors.New("new alerts: a store is required")
	}
	g := egress{allow: cfg.AllowNet}
	seen := map[string]bool{}
	for i := range deps.FileRules {
		r := &deps.FileRules[i]
		if err := r.Validate(true); err != nil {
			return nil, fmt.Errorf("alert rule %q: %w", r.ID, err)
		}
		if err := g.checkURL(r.WebhookURL); err != nil {
			return nil, fmt.Errorf("alert rule %q: webhook_url: %w", r.ID, err)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("alert rule %q: two rules have this id", r.ID)
		}
		seen[r.ID] = true
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.HistoryKeep <= 0 {
		cfg.HistoryKeep = 90 * 24 * time.Hour
	}
	cfg.Delivery.defaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = newClient(g)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, deps: deps, log: log.With("component", "alerts"), now: cfg.Now, client: cfg.Client, egress: g,
		rd:   reader{group: deps.Group, counts: deps.Store},
		wake: make(chan struct{}, 1),
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_alert_evaluations_total", Help: "Evaluations of the alert rules (one per rule per interval).",
		}),
		evalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_alert_evaluation_errors_total", Help: "Alert rule evaluations that could not read their signal or keep their state.",
		}),
		firings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_alert_firings_total", Help: "Alert rules that started firing (this process made the change).",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_alert_deliveries_total", Help: "Webhook delivery attempts, by outcome (delivered, retry, failed; claim_lost: made by a process whose claim lapsed meanwhile, its outcome dropped).",
		}, []string{"outcome"}),
	}
	for _, c := range []*prometheus.Counter{&s.evaluations, &s.evalErrors, &s.firings} {
		if err := metrics.Register(reg, c); err != nil {
			return nil, fmt.Errorf("register alert metrics: %w", err)
		}
	}
	if err := metrics.Register(reg, &s.deliveries); err != nil {
		return nil, fmt.Errorf("register alert metrics: %w", err)
	}
	return s, nil
}

// Run evaluates the rules every interval and delivers the notifications
// until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		lastPrune := time.Time{}
		for {
			if err := s.Evaluate(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("evaluate alert rules", "err", err)
			}
			if now := s.now(); now.Sub(lastPrune) > time.Hour {
				lastPrune = now
				if n, err := s.deps.Store.PruneAlertHistory(ctx, now.Add(-s.cfg.HistoryKeep)); err != nil && ctx.Err() == nil {
					s.log.Warn("prune alert history", "err", err)
				} else if n > 0 {
					s.log.Info("pruned alert history", "events", n)
				}
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	g.Go(func() error {
		t := time.NewTicker(s.cfg.Delivery.Poll)
		defer t.Stop()
		for {
			if err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("deliver alert notifications", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			case <-s.wake:
			}
		}
	})
	return g.Wait()
}

// ruleSet is every rule with its source and times.
type ruleSet struct {
	rule             Rule
	source           string
	created, updated time.Time
}

// rules reads the console's rules and adds the file's.
func (s *Service) rules(ctx context.Context) ([]ruleSet, error) {
	stored, err := s.deps.Store.AlertRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the alert rules: %w", err)
	}
	out := make([]ruleSet, 0, len(stored)+len(s.deps.FileRules))
	for _, r := range s.deps.FileRules {
		out = append(out, ruleSet{rule: r, source: SourceFile})
	}
	for _, sr := range stored {
		var r Rule
		if err := json.Unmarshal(sr.Spec, &r); err != nil {
			s.log.Warn("unreadable alert rule skipped", "rule_id", sr.ID, "err", err)
			continue
		}
		r.ID = sr.ID
		out = append(out, ruleSet{rule: r, source: SourceAPI, created: sr.CreatedAt, updated: sr.UpdatedAt})
	}
	return out, nil
}

func (s *Service) states(ctx context.Context) (map[string]store.AlertState, error) {
	list, err := s.deps.Store.AlertStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the alert states: %w", err)
	}
	out := make(map[string]store.AlertState, len(list))
	for _, st := range list {
		out[st.RuleID] = st
	}
	return out, nil
}

// Evaluate evaluates every rule once: reads its signal, and claims and
// records the change of state it makes, if any.
func (s *Service) Evaluate(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Microsecond)
	rules, err := s.rules(ctx)
	if err != nil {
		return err
	}
	states, err := s.states(ctx)
	if err != nil {
		return err
	}
	if err := s.rd.observe(ctx, now); err != nil {
		return err
	}
	var view *monitor.ConsumersView
	if s.deps.Group != nil {
		if v, err := s.deps.Group.Consumers(ctx); err != nil {
			s.log.Warn("read the consumer group for alerts", "err", err)
		} else {
			view = &v
		}
	}
	var errs []error
	var markers []event.Marker
	for i := range rules {
		r := &rules[i].rule
		s.evaluations.Inc()
		v, ok, err := 0.0, false, error(nil)
		if r.Enabled {
			v, ok, err = s.rd.value(ctx, r, now, view)
		}
		if err != nil {
			s.evalErrors.Inc()
			errs = append(errs, fmt.Errorf("rule %s: %w", r.ID, err))
			continue
		}
		st := states[r.ID]
		st.RuleID = r.ID
		c := step(r, st, v, ok, now)
		if !c.write {
			continue
		}
		m, err := s.apply(ctx, r, st, c, now)
		if err != nil {
			s.evalErrors.Inc()
			errs = append(errs, fmt.Errorf("rule %s: %w", r.ID, err))
			continue
		}
		if m != nil {
			markers = append(markers, *m)
		}
	}
	s.mark(ctx, markers)
	return errors.Join(errs...)
}

// apply claims a change and records its event; the marker it returns is
// for the charts (nil when the change has no event or another process made
// it).
func (s *Service) apply(ctx context.Context, r *Rule, st store.AlertState, c change, now time.Time) (*event.Marker, error) {
	var ev *store.AlertEvent
	if c.kind != "" {
		ev = &store.AlertEvent{RuleID: r.ID, RuleName: r.Name, Kind: c.kind, At: now, Value: c.next.Value,
			Silenced: silenced(st, now), Status: store.DeliveryNone, NextAttemptAt: now}
		if c.notify {
			ct, b, err := body(r, c.kind, c.next.Value, now)
			if err != nil {
				return nil, fmt.Errorf("render the notification: %w", err)
			}
			ev.Status, ev.URL, ev.ContentType, ev.Body = store.DeliveryPending, r.WebhookURL, ct, b
		}
	}
	ok, err := s.deps.Store.TransitionAlert(ctx, st.Version, c.next, ev)
	if err != nil {
		return nil, fmt.Errorf("keep the alert state: %w", err)
	}
	if !ok || ev == nil {
		// Another process made this change first: it records and sends
		// it.
		return nil, nil
	}
	s.log.Info("alert", "rule_id", r.ID, "kind", ev.Kind, "value", ev.Value, "silenced", ev.Silenced)
	if ev.Kind == store.AlertEventFiring {
		s.firings.Inc()
	}
	if c.notify {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	if ev.Kind == store.AlertEventRepeat {
		return nil, nil
	}
	kind := event.MarkerAlertFiring
	if ev.Kind == store.AlertEventResolved {
		kind = event.MarkerAlertResolved
	}
	return &event.Marker{T: now, Kind: kind, Detail: fmt.Sprintf("%s: %s (value %s)", r.Name, r.Describe(), formatValue(ev.Value))}, nil
}

// mark keeps the markers of this evaluation's changes and shows them on
// the live charts.
func (s *Service) mark(ctx context.Context, ms []event.Marker) {
	if len(ms) == 0 {
		return
	}
	if s.deps.Markers != nil {
		if err := s.deps.Markers.WriteMarkers(ctx, ms); err != nil {
			s.log.Warn("keep alert markers", "err", err)
		}
	}
	if s.deps.Bus != nil {
		s.deps.Bus.Publish(event.Change{Markers: ms})
	}
}

// Deliver sends the notifications due now, one attempt each, and records
// each attempt.
func (s *Service) Deliver(ctx context.Context) error {
	for {
		now := s.now().UTC().Truncate(time.Microsecond)
		// One notification per claim, taken right before its attempt: a
		// claim of several would lapse while the ones before it are sent
		// to a slow receiver, and another process would send them too.
		// The claim outlives the attempt (bounded by the timeout), so no
		// other process takes the notification while this one sends it.
		claimed, err := s.deps.Store.ClaimAlertNotifications(ctx, now, now.Add(2*s.cfg.Delivery.Timeout+5*time.Second), 1)
		if err != nil {
			return fmt.Errorf("claim notifications: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		if err := s.attempt(ctx, claimed[0]); err != nil {
			return err
		}
	}
}

// attempt delivers one notification and records the attempt.
func (s *Service) attempt(ctx context.Context, e store.AlertEvent) error {
	start := s.now()
	code, err := send(ctx, s.client, s.egress, &s.cfg.Delivery, e)
	if ctx.Err() != nil {
		// Shutting down: the claim lapses and a process tries again.
		return ctx.Err()
	}
	end := s.now()
	d := store.AlertDelivery{EventID: e.ID, At: start.UTC().Truncate(time.Microsecond), StatusCode: code,
		DurationMS: float64(end.Sub(start).Microseconds()) / 1000}
	o := store.AlertOutcome{Status: store.DeliveryDelivered, NextAttemptAt: end.UTC().Truncate(time.Microsecond)}
	outcome := "delivered"
	if err != nil {
		d.Error = truncate(err.Error(), 500)
		next := end.Add(s.cfg.Delivery.backoff(e.Attempts + 1))
		switch {
		case errors.Is(err, errPermanent), next.Sub(e.At) > s.cfg.Delivery.Budget:
			o.Status, outcome = store.DeliveryFailed, "failed"
		default:
			o.Status, o.NextAttemptAt, outcome = store.DeliveryPending, next.UTC().Truncate(time.Microsecond), "retry"
		}
		s.log.Warn("alert notification not delivered", "rule_id", e.RuleID, "event_id", e.ID, "attempt", e.Attempts+1,
			"status", code, "err", d.Error, "next", o.Status)
	}
	err = s.deps.Store.RecordAlertDelivery(ctx, e.Claim, d, o)
	if errors.Is(err, store.ErrClaimLost) {
		// This process stalled past its claim and another took the
		// notification over: that one's outcome stands, not this one's.
		s.deliveries.WithLabelValues("claim_lost").Inc()
		s.log.Warn("alert delivery outcome dropped: the claim lapsed and another process took the notification",
			"rule_id", e.RuleID, "event_id", e.ID, "attempt", e.Attempts+1, "outcome", outcome)
		return nil
	}
	s.deliveries.WithLabelValues(outcome).Inc()
	if err != nil {
		return fmt.Errorf("record the delivery of notification %d: %w", e.ID, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// RuleView is a rule as the console shows it: its definition, where it
// comes from and its state.
type RuleView struct {
	Rule
	Source        string     `json:"source"`
	State         string     `json:"state"`
	Since         *time.Time `json:"since"`
	Value         *float64   `json:"value"`
	SilencedUntil *time.Time `json:"silenced_until"`
	CreatedAt     *time.Time `json:"created_at"`
	UpdatedAt     *time.Time `json:"updated_at"`
}

func view(rs ruleSet, st store.AlertState, ok bool, now time.Time) RuleView {
	v := RuleView{Rule: rs.rule, Source: rs.source, State: store.AlertOK}
	if rs.source == SourceAPI {
		c, u := rs.created, rs.updated
		v.CreatedAt, v.UpdatedAt = &c, &u
	}
	if ok {
		if st.Version > 0 {
			since, value := st.Since, st.Value
			v.State, v.Since, v.Value = st.State, &since, &value
		}
		if silenced(st, now) {
			v.SilencedUntil = st.SilencedUntil
		}
	}
	return v
}

// Rules returns every rule, the file's first, with its state.
func (s *Service) Rules(ctx context.Context) ([]RuleView, error) {
	rules, err := s.rules(ctx)
	if err != nil {
		return nil, err
	}
	states, err := s.states(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]RuleView, 0, len(rules))
	for _, rs := range rules {
		st, ok := states[rs.rule.ID]
		out = append(out, view(rs, st, ok, now))
	}
	return out, nil
}

// Rule returns one rule with its state.
func (s *Service) Rule(ctx context.Context, id string) (RuleView, error) {
	all, err := s.Rules(ctx)
	if err != nil {
		return RuleView{}, err
	}
	i := slices.IndexFunc(all, func(v RuleView) bool { return v.ID == id })
	if i < 0 {
		return RuleView{}, ErrNotFound
	}
	return all[i], nil
}

// validate checks a console rule, its webhook's address included (when
// the URL names one; a host name is checked when it is dialled).
func (s *Service) validate(r *Rule) error {
	if err := r.Validate(false); err != nil {
		return &InvalidError{err}
	}
	if err := s.egress.checkURL(r.WebhookURL); err != nil {
		return &InvalidError{fmt.Errorf("webhook_url: %w", err)}
	}
	return nil
}

func (s *Service) isFileRule(id string) bool {
	return slices.ContainsFunc(s.deps.FileRules, func(r Rule) bool { return r.ID == id })
}

// Create validates and stores a new console rule, with an id of its own.
func (s *Service) Create(ctx context.Context, r Rule) (RuleView, error) {
	r.Normalize()
	if err := s.validate(&r); err != nil {
		return RuleView{}, err
	}
	all, err := s.rules(ctx)
	if err != nil {
		return RuleView{}, err
	}
	if len(all) >= MaxRules {
		return RuleView{}, ErrTooMany
	}
	r.ID = "alr_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	spec, err := json.Marshal(r)
	if err != nil {
		return RuleView{}, fmt.Errorf("encode the rule: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if err := s.deps.Store.CreateAlertRule(ctx, store.AlertRule{ID: r.ID, Spec: spec, CreatedAt: now, UpdatedAt: now}); err != nil {
		return RuleView{}, fmt.Errorf("store the rule: %w", err)
	}
	return s.Rule(ctx, r.ID)
}

// Update replaces a console rule's definition; its state carries on (a
// firing rule made stricter resolves at its next evaluation).
func (s *Service) Update(ctx context.Context, id string, r Rule) (RuleView, error) {
	if s.isFileRule(id) {
		return RuleView{}, ErrFileRule
	}
	r.Normalize()
	if err := s.validate(&r); err != nil {
		return RuleView{}, err
	}
	r.ID = id
	spec, err := json.Marshal(r)
	if err != nil {
		return RuleView{}, fmt.Errorf("encode the rule: %w", err)
	}
	if _, err := s.deps.Store.UpdateAlertRule(ctx, id, spec, s.now().UTC().Truncate(time.Microsecond)); err != nil {
		return RuleView{}, err
	}
	return s.Rule(ctx, id)
}

// Delete deletes a console rule and its state; its history stays.
func (s *Service) Delete(ctx context.Context, id string) error {
	if s.isFileRule(id) {
		return ErrFileRule
	}
	return s.deps.Store.DeleteAlertRule(ctx, id)
}

// Silence silences a rule, of the console or the file, until until (nil
// lifts the silence).
func (s *Service) Silence(ctx context.Context, id string, until *time.Time) (RuleView, error) {
	if _, err := s.Rule(ctx, id); err != nil {
		return RuleView{}, err
	}
	if until != nil {
		u := until.UTC().Truncate(time.Microsecond)
		until = &u
	}
	if err := s.deps.Store.SilenceAlert(ctx, id, until); err != nil {
		return RuleView{}, fmt.Errorf("silence the rule: %w", err)
	}
	return s.Rule(ctx, id)
}

// History returns alert events with their delivery attempts, newest first.
func (s *Service) History(ctx context.Context, q store.AlertHistoryQuery) ([]store.AlertEvent, error) {
	return s.deps.Store.AlertHistory(ctx, q)
}
