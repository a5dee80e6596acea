package store

import (
	"context"
	"crypto/rand"
	"errors"
	"time"
)

// ErrClaimLost is RecordAlertDelivery refusing an outcome: the
// notification was settled or claimed again since this claim.
var ErrClaimLost = errors.New("the notification is no longer held by this claim")

// NewClaim returns a fresh claim for ClaimAlertNotifications: random, so
// no two claims (of any process) are the same.
func NewClaim() string { return rand.Text() }

// AlertRule is an alert rule as the store keeps it: its definition is the
// alerts package's JSON, opaque here, so that a new kind of rule needs no
// migration.
type AlertRule struct {
	ID        string
	Spec      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Alert states.
const (
	AlertOK      = "ok"
	AlertPending = "pending"
	AlertFiring  = "firing"
)

// AlertState is where a rule's evaluation stands. Every process of a
// deployment evaluates the rules; a change of state is claimed by moving
// Version on in one transaction (see TransitionAlert), so that only one
// process makes each change and sends its notification.
type AlertState struct {
	RuleID  string
	Version int64
	// State is AlertOK, AlertPending or AlertFiring.
	State string
	// Since is when the state was entered (the breach began, for a
	// pending rule).
	Since time.Time
	// NotifiedAt is the last notification of the firing, for the repeat
	// interval; nil when none was sent (silenced, or not firing).
	NotifiedAt *time.Time
	// Value is the signal's value at the last change.
	Value float64
	// SilencedUntil suppresses notifications until then; the state still
	// changes and the history still records it. TransitionAlert leaves it
	// as it is; SilenceAlert sets it.
	SilencedUntil *time.Time
	UpdatedAt     time.Time
}

// Kinds of alert event, and statuses of their notification.
const (
	AlertEventFiring   = "firing"
	AlertEventResolved = "resolved"
	AlertEventRepeat   = "repeat"

	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	// DeliveryNone is an event that sends nothing: silenced, or a rule
	// without a webhook.
	DeliveryNone = "none"
)

// AlertEvent is one entry of the alert history, with its notification:
// what is sent, where, and how far its delivery got.
type AlertEvent struct {
	ID       int64
	RuleID   string
	RuleName string
	// Kind is AlertEventFiring, AlertEventResolved or AlertEventRepeat.
	Kind     string
	At       time.Time
	Value    float64
	Silenced bool
	// Status is one of the Delivery* constants.
	Status        string
	URL           string
	ContentType   string
	Body          string
	Attempts      int
	NextAttemptAt time.Time
	// Claim is the claim ClaimAlertNotifications took the notification
	// under, which RecordAlertDelivery must be given back; empty
	// elsewhere.
	Claim string
	// Deliveries are the attempts, oldest first (filled by AlertHistory).
	Deliveries []AlertDelivery
}

// AlertDelivery is one attempt to deliver a notification.
type AlertDelivery struct {
	EventID int64
	At      time.Time
	// StatusCode is the receiver's HTTP status; 0 when it gave none.
	StatusCode int
	// Error says why the attempt failed; empty when it succeeded.
	Error      string
	DurationMS float64
}

// AlertOutcome is what an attempt leaves its notification with: Status
// DeliveryPending and the time of the next attempt, DeliveryDelivered or
// DeliveryFailed (the retry budget is spent).
type AlertOutcome struct {
	Status        string
	NextAttemptAt time.Time
}

// AlertHistoryQuery selects alert events, newest first: those of RuleID
// (any when empty), with an id below Before (any when 0), at most Limit.
type AlertHistoryQuery struct {
	RuleID string
	Before int64
	Limit  int
}

// Alerts keeps the alert rules made in the console or the API, their
// states, their history and its notifications' deliveries.
type Alerts interface {
	// AlertRules returns the rules, oldest first.
	AlertRules(ctx context.Context) ([]AlertRule, error)
	// CreateAlertRule stores a new rule.
	CreateAlertRule(ctx context.Context, r AlertRule) error
	// UpdateAlertRule replaces a rule's spec; ErrNotFound when there is
	// none.
	UpdateAlertRule(ctx context.Context, id string, spec []byte, at time.Time) (AlertRule, error)
	// DeleteAlertRule deletes a rule and its state (its history stays);
	// ErrNotFound when there is none.
	DeleteAlertRule(ctx context.Context, id string) error

	// AlertStates returns the state of every rule that has one.
	AlertStates(ctx context.Context) ([]AlertState, error)
	// TransitionAlert replaces the state of next.RuleID, when it is still
	// at version prev (0: none yet), by next with version prev+1, and adds
	// ev (when not nil) to the history, in one transaction. ok is false,
	// and nothing changes, when another process moved the state first.
	// ev's ID is set when added.
	TransitionAlert(ctx context.Context, prev int64, next AlertState, ev *AlertEvent) (ok bool, err error)
	// SilenceAlert sets a rule's silence (nil lifts it) without changing
	// its state.
	SilenceAlert(ctx context.Context, ruleID string, until *time.Time) error

	// AlertHistory returns alert events with their deliveries, newest
	// first.
	AlertHistory(ctx context.Context, q AlertHistoryQuery) ([]AlertEvent, error)
	// ClaimAlertNotifications returns up to limit notifications pending
	// and due at now, and hides them from other claims until until (after
	// now): the process that claims one delivers it. Each returned event
	// carries the new claim in Claim.
	ClaimAlertNotifications(ctx context.Context, now, until time.Time, limit int) ([]AlertEvent, error)
	// RecordAlertDelivery keeps an attempt and what it leaves its
	// notification with, in one transaction, when the notification is
	// still pending and still held by claim (its claim may have ended, as
	// long as no other took it). Otherwise it changes nothing and returns
	// ErrClaimLost: another process took the notification over, and its
	// attempt's outcome stands. ErrNotFound when there is no such
	// notification.
	RecordAlertDelivery(ctx context.Context, claim string, d AlertDelivery, o AlertOutcome) error
	// PruneAlertHistory deletes the alert events before before whose
	// notification is settled, and their deliveries; it returns how many
	// events it deleted.
	PruneAlertHistory(ctx context.Context, before time.Time) (int64, error)
}
