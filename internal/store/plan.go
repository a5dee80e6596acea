package store

import (
	"context"
	"encoding/json"
	"time"
)

// PlanEntry is one event type of the tracking plan (docs/tracker.md): a
// JSON Schema its events' properties must match.
type PlanEntry struct {
	EventType   string          `json:"event_type"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// PlanWarning counts the events of a source that broke the tracking plan
// one way: an event type the plan does not know, or one keyword of its
// schema.
type PlanWarning struct {
	SourceID  string `json:"source_id"`
	EventType string `json:"event_type"`
	// Problem is what was broken: ProblemUnknownType, or the schema's
	// keyword location ("/properties/plan/enum").
	Problem string `json:"problem"`
	// Field and Reason are the latest such event's error, as the
	// collector gives it.
	Field  string `json:"field"`
	Reason string `json:"reason"`
	// Warned events were stored anyway (the source's plan mode is warn),
	// Rejected ones refused (strict).
	Warned   int64 `json:"warned"`
	Rejected int64 `json:"rejected"`
	// Example is the latest such event as the client sent it (cut at
	// MaxWarningExample bytes, then a JSON string).
	Example json.RawMessage `json:"example"`
	FirstAt time.Time       `json:"first_at"`
	LastAt  time.Time       `json:"last_at"`
}

// Tracking-plan bounds of the store.
const (
	// ProblemUnknownType is the problem of an event type not in the plan.
	ProblemUnknownType = "unknown_event_type"
	// OtherEventTypes stands for the unknown event types of a source
	// beyond MaxUnknownTypes: a client makes up types at will, and each
	// would be a row.
	OtherEventTypes = "(other)"
	MaxUnknownTypes = 200
	// MaxWarningExample bounds an example's bytes.
	MaxWarningExample = 4 << 10
	// WarningKeep is how long a warning not seen again is kept.
	WarningKeep = 8 * 24 * time.Hour
)

// Plan keeps the tracking plan and what broke it.
type Plan interface {
	// PlanEntries returns the plan, by event type.
	PlanEntries(ctx context.Context) ([]PlanEntry, error)
	// PutPlanEntry adds or replaces one event type's entry.
	PutPlanEntry(ctx context.Context, e PlanEntry) error
	// DeletePlanEntry removes an event type from the plan; ErrNotFound
	// when it is not in it.
	DeletePlanEntry(ctx context.Context, eventType string) error
	// ReplacePlan makes entries the whole plan, in one transaction.
	ReplacePlan(ctx context.Context, entries []PlanEntry) error
	// AddPlanWarnings adds counts to the warnings (keyed by source, event
	// type and problem), keeping the first time and taking the latest
	// field, reason, example and time. An unknown type beyond
	// MaxUnknownTypes of its source counts under OtherEventTypes.
	AddPlanWarnings(ctx context.Context, ws []PlanWarning) error
	// PlanWarnings returns the warnings seen since since, of one source
	// or (sourceID empty) all, the latest first, at most limit.
	PlanWarnings(ctx context.Context, sourceID string, since time.Time, limit int) ([]PlanWarning, error)
}
