// Package store defines what Pulse needs from its database. The sqlite and
// postgres packages implement it; storetest holds the one test suite both
// must pass.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
)

// Record is one finished message: its processing-log entry and, when the
// message completed, the event to store. Event is nil for a message that
// was dead-lettered (its event is not stored).
type Record struct {
	Event   *event.Event
	Message event.Message
	// TimeFilled says the event's timestamp was not its client's but the
	// time it was produced: a record of the same event_id that differs
	// only in its timestamp is then the client's retry, not a reuse of
	// the id for another event. So is a collected event's: the collector
	// corrects its client's clock afresh on each retry.
	TimeFilled bool
	// Delivery is what the collector counted on the event's way in, for
	// the delivery ledger (only events with a source_id count).
	Delivery ledger.Delivery
}

// MessageFilter selects processing-log rows, newest first.
type MessageFilter struct {
	Status  event.Status // empty: any
	Source  event.Source // empty: any
	EventID string       // empty: any
	Limit   int          // 0: DefaultLimit
}

// DefaultLimit is the page size when a caller gives none.
const DefaultLimit = 50

// MaxLimit caps every page.
const MaxLimit = 1000

// Totals are the aggregates the live statistics are rebuilt from at start.
type Totals struct {
	Events     int64            // rows in events
	EventTypes map[string]int64 // events per event_type
	// Clicks counts button_click events per element_id.
	Clicks map[string]int64
	// Messages counts processing-log rows per status.
	Messages map[event.Status]int64
	// ProcessingMSSum and ProcessingCount give the average processing time
	// of completed messages.
	ProcessingMSSum float64
	ProcessingCount int64
	// Recent counts events stored at or after the recentSince time given to
	// Totals.
	Recent int64
}

// Retention bounds the database. Zero fields mean no bound.
type Retention struct {
	MaxAge  time.Duration
	MaxRows int64
}

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("store closed")

// Store is the contract of a Pulse database.
type Store interface {
	// Write stores a batch in one transaction, idempotently: a record whose
	// event_id is already stored changes nothing. outcomes[i] reports
	// whether record i was new, or, when its event's event_id is stored
	// with other content, the conflict (see Outcome), or that its user
	// was erased (Outcome.Suppressed). Either the whole batch commits or
	// none.
	Write(ctx context.Context, batch []Record) (outcomes []Outcome, err error)
	// LatestEvents returns the newest events, newest first.
	LatestEvents(ctx context.Context, limit int) ([]event.Stored, error)
	// Messages returns processing-log rows, newest first.
	Messages(ctx context.Context, f MessageFilter) ([]event.Message, error)
	// Totals reads the aggregates from the running totals each batch and
	// each retention pass keep in their transaction (see TotalsDelta), and
	// the recent events from the series: its cost does not grow with the
	// rows stored. Recent counts to the series' 10 s bucket.
	Totals(ctx context.Context, recentSince time.Time) (Totals, error)
	// Retain deletes what the policy says is too old or too many, and
	// returns the number of events deleted.
	Retain(ctx context.Context, r Retention) (int64, error)
	// Positions returns where the records written end, per topic and
	// partition (see Positions).
	Positions(ctx context.Context) (Positions, error)
	Series
	Rollups
	RollupKeys
	Scanner
	Activity
	Users
	Replays
	Sources
	SavedInsights
	Accounts
	Audit
	Settings
	Uniques
	Ledger
	Plan
	Erasure
	Alerts
	Retries
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}
