package store

import (
	"context"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
)

// Retry is the retry state of one Kafka record whose processing failed and
// is due again: what a consumer needs to resume it where it stopped after
// a crash or a rebalance, rather than start its budget over.
//
// A record has a retry row from its first failed attempt that schedules
// another until the transaction that writes its finished processing-log
// row (completed or dead-lettered), which deletes it: the retry log only
// ever holds records still in play, a few rows whatever the database
// size.
type Retry struct {
	Topic     string
	Partition int32
	Offset    int64
	// EventID ties the state to the record's event: a row left at a
	// reused offset (a topic recreated) matches no other record.
	EventID string
	// Retries counts the retries scheduled so far (the attempts made
	// minus one when the next is due); NextRetryAt is when the next
	// attempt is due.
	Retries     int
	NextRetryAt time.Time
	// Attempts are the failed attempts, oldest first, as the processing
	// log shows them.
	Attempts []event.Attempt
	// ConsumerID is the member that scheduled the next attempt.
	ConsumerID string
	// QueuedAt is the record's Kafka timestamp and EventType its event's
	// type: with the rest, what the message timeline shows of a retry no
	// member has taken up yet (after a crash). No personal field is kept.
	QueuedAt  time.Time
	EventType string
	// UpdatedAt is when the row was last written (set by the store).
	UpdatedAt time.Time
}

// Retries is the retry log of the consumers (see Retry).
type Retries interface {
	// SaveRetries stores the states, in one transaction. A stored state
	// is replaced only by one with more retries, so that a late write of
	// an earlier failure never sets a record's budget back.
	SaveRetries(ctx context.Context, states []Retry) error
	// PendingRetries returns the retry states of topic's partition at or
	// above offset from, by offset, and deletes those below it: the group
	// has committed past them, so they are never delivered again.
	PendingRetries(ctx context.Context, topic string, partition int32, from int64) ([]Retry, error)
	// Finished returns the processing-log rows stored for the event ids
	// (at most MaxLimit of them), in no order: a consumer given records
	// again above the committed offset learns which of them it already
	// finished.
	Finished(ctx context.Context, eventIDs []string) ([]Finished, error)
}

// Finished is where a message that has a processing-log row ended, the
// record it ended as, and its retries and failed attempts (a record given
// again whose dead letter's transaction aborted goes on from them).
type Finished struct {
	EventID   string
	Status    event.Status
	Topic     string
	Partition int32
	Offset    int64
	Retries   int
	Attempts  []event.Attempt
	// CompletedAt is when the row finished: a rewind after it gives the
	// record to the group to process again (event.RewindsOf).
	CompletedAt *time.Time
}

// Message is the processing-log entry of a retry no member holds: the
// message retrying, as the timeline shows it until a member takes it up.
func (r *Retry) Message() event.Message {
	next := r.NextRetryAt.UTC()
	m := event.Message{
		EventID: r.EventID, EventType: r.EventType, Status: event.StatusRetrying,
		ConsumerID: r.ConsumerID, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		QueuedAt: r.QueuedAt.UTC(), Retries: r.Retries, NextRetryAt: &next, Attempts: r.Attempts,
	}
	if n := len(r.Attempts); n > 0 {
		started := r.Attempts[n-1].StartedAt.UTC()
		m.StartedAt, m.Error = &started, r.Attempts[n-1].Error
	}
	return m
}

// RetryDone reports whether writing r, finished, deletes a retry row:
// only a message with a failed attempt can have one, so a batch of
// records that never failed pays nothing.
func RetryDone(r *Record) bool {
	return len(r.Message.Attempts) > 0 && r.Message.Topic != ""
}
