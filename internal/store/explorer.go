package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
)

// ErrNotFound is returned when the row asked for does not exist.
var ErrNotFound = errors.New("not found")

// SearchWindow bounds the rows one SearchEvents call examines when the
// query filters on something no index covers (element_id, a time range or
// text): the call looks at ids in [cursor-SearchWindow, cursor) only, so a
// page costs the same at any table size (a text search over a full window
// of a 2-million-row SQLite table took under 100 ms). Such a page may hold
// fewer rows than asked for, or none, while its next cursor says there is
// more to see.
const SearchWindow = 100_000

// ExportChunk is the page size ExportEvents reads in.
const ExportChunk = 1000

// EventQuery selects stored events, newest (highest id) first. Empty
// fields do not filter.
type EventQuery struct {
	UserID    string
	EventType string
	ElementID string
	SessionID string
	// From (inclusive) and To (exclusive) bound the event's timestamp.
	From, To time.Time
	// Text matches, case-insensitively for ASCII letters, a substring of
	// element_id, page or message.
	Text string
	// Before is the keyset cursor: only events with id < Before; 0 starts
	// at the newest.
	Before int64
	// Limit is the page size of SearchEvents (0: DefaultLimit, capped at
	// MaxLimit) and, when positive, the most rows ExportEvents sends.
	Limit int
	// Window is the id span an unindexed search examines (0:
	// SearchWindow).
	Window int64
}

// window returns the id span of an unindexed search.
func (q EventQuery) window() int64 {
	if q.Window > 0 {
		return q.Window
	}
	return SearchWindow
}

// Bounds returns the id range a search examines, lo <= id < hi, where 0
// means unbounded; maxID returns the store's highest id (0 when empty) and is
// called only when a bound needs it.
func (q EventQuery) Bounds(maxID func() (int64, error)) (hi, lo int64, err error) {
	hi = q.Before
	if q.Indexed() {
		return hi, 0, nil
	}
	if hi <= 0 {
		m, err := maxID()
		if err != nil {
			return 0, 0, err
		}
		hi = m + 1
	}
	return hi, max(0, hi-q.window()), nil
}

// Indexed reports whether every filter of q is served by an index, so a
// search needs no scan window.
func (q EventQuery) Indexed() bool {
	return q.ElementID == "" && q.From.IsZero() && q.To.IsZero() && q.Text == ""
}

// Explorer is what the event explorer and the message timeline read. It is
// separate from Store so that the pipeline and the dashboard do not depend
// on it.
type Explorer interface {
	// SearchEvents returns one page of events matching q, newest first,
	// and the cursor of the next page (q.Before for the next call), 0
	// when there is nothing more.
	SearchEvents(ctx context.Context, q EventQuery) (events []event.Stored, next int64, err error)
	// ExportEvents calls fn for every event matching q, newest first,
	// reading ExportChunk rows at a time so that memory stays flat at any
	// result size. An error from fn stops the export and is returned.
	ExportEvents(ctx context.Context, q EventQuery, fn func(event.Stored) error) error
	// Message returns the processing-log row of eventID and, when the
	// event was stored, the event; ErrNotFound when there is no such row.
	Message(ctx context.Context, eventID string) (event.Message, *event.Stored, error)
}

// Searcher is the part of Explorer that ExportAll builds on.
type Searcher interface {
	SearchEvents(ctx context.Context, q EventQuery) ([]event.Stored, int64, error)
}

// ExportAll implements Explorer.ExportEvents on top of SearchEvents: it
// walks the pages with their cursors, so that each query is bounded and no
// read transaction stays open for the length of a slow download.
func ExportAll(ctx context.Context, s Searcher, q EventQuery, fn func(event.Stored) error) error {
	left := q.Limit
	q.Limit = ExportChunk
	for {
		if left > 0 && left < q.Limit {
			q.Limit = left
		}
		page, next, err := s.SearchEvents(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if left > 0 {
			if left -= len(page); left <= 0 {
				return nil
			}
		}
		if next == 0 {
			return nil
		}
		q.Before = next
	}
}

// LikePattern returns a LIKE pattern matching text anywhere, with the
// wildcards in text escaped by a backslash (ESCAPE '\').
func LikePattern(text string) string {
	b := make([]byte, 0, len(text)+2)
	b = append(b, '%')
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '\\', '%', '_':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '%'))
}

// AttemptsJSON is the stored form of a message's failed attempts: JSON
// text, or NULL (Valid false) when there are none.
func AttemptsJSON(a []event.Attempt) (sql.NullString, error) {
	if len(a) == 0 {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("attempts: %w", err)
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

// ParseAttempts reads what AttemptsJSON stored.
func ParseAttempts(s sql.NullString) ([]event.Attempt, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var a []event.Attempt
	if err := json.Unmarshal([]byte(s.String), &a); err != nil {
		return nil, fmt.Errorf("attempts: %w", err)
	}
	return a, nil
}
