// Package event defines Pulse's domain types: the tracked user event, the
// processing-log record kept for every message, and the rules that make an
// event valid. It depends on nothing else in Pulse, so every layer (HTTP,
// Kafka, pipeline, store, live) speaks the same types.
package event

import (
	"encoding/json"
	"time"
)

// Event is one tracked user action. The JSON names are the seed's.
type Event struct {
	// EventID identifies the event end to end and makes storage idempotent.
	// Generated at ingest when absent; derived from the record's coordinates
	// when a Kafka record carries none (see DerivedID).
	EventID   string `json:"event_id"`
	UserID    string `json:"user_id"`
	EventType string `json:"event_type"`
	ElementID string `json:"element_id"`
	// Timestamp is zero until Normalize fills an absent one; a zero one is
	// left out of the JSON, so that an event written before Normalize
	// decodes again (Decode refuses a present zero time).
	Timestamp time.Time `json:"timestamp,omitzero"`
	SessionID string    `json:"session_id,omitempty"`
	Page      string    `json:"page,omitempty"`
	Message   string    `json:"message,omitempty"`
	// Properties is a JSON object, kept verbatim.
	Properties json.RawMessage `json:"properties,omitempty"`

	// SourceID names the site or app the event came from (a source, see
	// docs/tracker.md): set by the collector from the write key, so the
	// HTTP event endpoints refuse it; Kafka producers are trusted with it.
	SourceID string `json:"source_id,omitempty"`
	// AnonymousID is the browser's first-party id, kept after identify.
	AnonymousID string `json:"anonymous_id,omitempty"`
	// StreamID and Seq number a tracker's events, 1, 2, 3... per page
	// load, so that the delivery ledger counts the ones that never
	// arrived. Carried to the store's transaction, not stored as columns.
	StreamID string `json:"stream_id,omitempty"`
	Seq      int64  `json:"seq,omitempty"`

	// Simulation fields: how long processing takes and whether it fails.
	DelaySeconds float64 `json:"delay_seconds,omitempty"`
	ShouldFail   bool    `json:"should_fail,omitempty"`
}

// Key is the Kafka record key: readable bytes that keep one user's events
// of one type in order on one partition.
func (e *Event) Key() []byte {
	k := make([]byte, 0, len(e.UserID)+1+len(e.EventType))
	k = append(k, e.UserID...)
	k = append(k, ':')
	return append(k, e.EventType...)
}

// Seed event types. Custom types matching TypePattern are accepted too.
const (
	TypePageView    = "page_view"
	TypeButtonClick = "button_click"
	TypeFormSubmit  = "form_submit"
	TypeUserLogin   = "user_login"
	TypeAPICall     = "api_call"
)

// Status is the state of a message in the processing log.
type Status string

// Processing-log states. Queued and Processing (and Retrying, a Processing
// message waiting for its next attempt) live in memory; Completed and
// DeadLettered are written to the store once, when the message is done.
const (
	StatusQueued       Status = "queued"
	StatusProcessing   Status = "processing"
	StatusRetrying     Status = "retrying"
	StatusCompleted    Status = "completed"
	StatusFailed       Status = "failed"
	StatusDeadLettered Status = "dead_lettered"
)

// Terminal reports whether no further state follows s.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusDeadLettered
}

// Valid reports whether s is one of the known states.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusProcessing, StatusRetrying, StatusCompleted, StatusFailed, StatusDeadLettered:
		return true
	}
	return false
}

// Source says where a message entered Pulse.
type Source string

// Sources, carried in the Kafka header "source"; a record without it is
// SourceKafka (any other producer: kcat, Java, ...).
const (
	SourceAPI      Source = "api"
	SourceKafka    Source = "kafka"
	SourceProducer Source = "producer"
	// SourceCollect: the collector, POST /api/collect (pulse.js and
	// other clients of a source's write key).
	SourceCollect Source = "collect"
)

// Valid reports whether s is one of the known sources.
func (s Source) Valid() bool {
	return s == SourceAPI || s == SourceKafka || s == SourceProducer || s == SourceCollect
}

// Message is the processing-log record of one Kafka record: the seed's
// MessageQueue row. Pulse writes it once, with the event, when processing
// ends; in-flight states are only broadcast.
type Message struct {
	// ID is the store's row id; zero until stored.
	ID        int64  `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	UserID    string `json:"user_id"`
	ElementID string `json:"element_id"`

	Status     Status `json:"status"`
	Source     Source `json:"source"`
	ConsumerID string `json:"consumer_id"`
	Topic      string `json:"topic"`
	Partition  int32  `json:"partition"`
	Offset     int64  `json:"offset"`
	RequestID  string `json:"request_id,omitempty"`

	// QueuedAt is the record's Kafka timestamp (when it was produced).
	QueuedAt time.Time `json:"queued_at"`
	// StartedAt is the start of the latest attempt (the final one once the
	// message finished); the first attempt's start is Attempts[0].StartedAt
	// when an attempt failed.
	StartedAt *time.Time `json:"started_at"`
	// CompletedAt is when processing ended: stored, failed or dead-lettered.
	// The whole processing time is CompletedAt minus the first attempt's
	// start.
	CompletedAt *time.Time `json:"completed_at"`
	// DurationMS is the processing time of the final attempt, from its start
	// to its end, in milliseconds.
	DurationMS float64 `json:"duration_ms"`
	Retries    int     `json:"retries"`
	// NextRetryAt is set while the message waits for another attempt.
	NextRetryAt *time.Time `json:"next_retry_at,omitempty"`
	Error       string     `json:"error,omitempty"`

	// FetchedAt is when the consumer polled the record: one time for the
	// whole fetch it came in.
	FetchedAt *time.Time `json:"fetched_at,omitempty"`
	// Attempts lists the failed processing attempts, oldest first; nil for
	// a message whose first attempt succeeded.
	Attempts []Attempt `json:"attempts,omitempty"`
	// ReplayOf names the dead-letter record this one replays, as
	// "<dlq topic>/<partition>/<offset>"; empty for an original record.
	ReplayOf string `json:"replay_of,omitempty"`
	// IDDerived is set on a message whose EventID the pipeline derived
	// from the record itself (the payload carried none and no replay
	// header named one): such an id names this record only, so a replay
	// of that kind replaces no dead-lettered row. In flight only: not
	// stored.
	IDDerived bool `json:"id_derived,omitempty"`
	// WaitingBehind is set on a queued message whose key is held by an
	// earlier record that has not finished (delayed, retrying, on its way
	// to the DLQ): the message keeps its place behind it, per-key order.
	// In flight only: not stored.
	WaitingBehind *WaitingBehind `json:"waiting_behind,omitempty"`
	// StoredAt is when the store wrote the row; set only on messages read
	// back from the store.
	StoredAt *time.Time `json:"stored_at,omitempty"`
}

// WaitingBehind names the record a queued message waits for.
type WaitingBehind struct {
	// Key is the Kafka key they share (the user, for events from the API).
	Key string `json:"key"`
	// EventID, EventType and ElementID are the holding record's.
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	ElementID string `json:"element_id"`
	// Position is the message's place in the key's queue: 1 is next.
	Position int `json:"position"`
}

// Attempt is one failed processing attempt of a message.
type Attempt struct {
	// N counts attempts from 1.
	N         int       `json:"n"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at"`
	Error     string    `json:"error"`
	// ConsumerID is the member that made the attempt: after a crash or a
	// rebalance, the attempts of one message are several members'.
	ConsumerID string `json:"consumer_id,omitempty"`
	// NextRetryAt is when the next attempt was scheduled; nil when the
	// message was dead-lettered after this one.
	NextRetryAt *time.Time `json:"next_retry_at,omitempty"`
}

// Stored is an event as the store returns it: the event plus its row id
// and the time it was stored.
type Stored struct {
	ID int64 `json:"id"`
	Event
	Source    Source    `json:"source"`
	Partition int32     `json:"partition"`
	Offset    int64     `json:"offset"`
	CreatedAt time.Time `json:"created_at"`
}

// Change is what the live side learns when the pipeline moves on: events
// stored for the first time, processing-log state changes, and the ids of
// messages that finished without writing anything new (a redelivered record
// whose event was already stored). Statistics count an event or a terminal
// message only from here, so nothing is counted twice.
type Change struct {
	Events   []Stored  `json:"events,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	Settled  []string  `json:"settled,omitempty"`
	// Markers are operational moments for the live charts.
	Markers []Marker `json:"markers,omitempty"`
}
