package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/privacy"
	"github.com/pulse-dev/pulse/internal/store"
)

// Explorer is what the event explorer, the export and the message
// timeline read; store.Explorer satisfies it.
type Explorer interface {
	SearchEvents(ctx context.Context, q store.EventQuery) (events []event.Stored, next int64, err error)
	ExportEvents(ctx context.Context, q store.EventQuery, fn func(event.Stored) error) error
	Message(ctx context.Context, eventID string) (event.Message, *event.Stored, error)
}

// maxQueryText bounds the q parameter of the explorer.
const maxQueryText = 200

// An export sends what it encoded every exportFlushEvery rows, or sooner
// when that reaches exportFlushBytes, so that a download shows progress
// and the server holds little.
const (
	exportFlushEvery = 500
	exportFlushBytes = 256 << 10
)

// explorerRoutes registers the explorer's routes when Deps.Explorer is set.
func (s *Server) explorerRoutes(handle routeFunc) {
	if s.deps.Explorer == nil {
		return
	}
	handle("GET", "/api/events/", auth.Viewer, s.wrap(s.searchEvents))
	handle("GET", "/api/events/export/", auth.Viewer, s.wrap(s.exportEvents))
	handle("GET", "/api/messages/{event_id}/", auth.Viewer, s.wrap(s.messageTimeline))
}

// parseEventQuery reads the explorer's filters. from and to are RFC 3339
// times bounding the event's timestamp, from inclusive, to exclusive.
func parseEventQuery(r *http.Request) (store.EventQuery, error) {
	v := r.URL.Query()
	var q store.EventQuery
	for _, f := range []struct {
		name string
		dst  *string
		max  int
	}{
		{"user_id", &q.UserID, event.MaxIDLen},
		{"event_type", &q.EventType, event.MaxTypeLen},
		{"element_id", &q.ElementID, event.MaxIDLen},
		{"session_id", &q.SessionID, event.MaxIDLen},
		{"q", &q.Text, maxQueryText},
	} {
		*f.dst = v.Get(f.name)
		if len(*f.dst) > f.max {
			return q, Errorf(EInvalid, "%s: longer than %d bytes", f.name, f.max)
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		raw := v.Get(f.name)
		if raw == "" {
			continue
		}
		t, err := parseTimeParam(f.name, raw)
		if err != nil {
			return q, err
		}
		*f.dst = t
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, Errorf(EInvalid, "from: must be before to")
	}
	if raw := v.Get("cursor"); raw != "" {
		before, ok := decodeCursor(raw)
		if !ok {
			return q, Errorf(EInvalid, "cursor: not a cursor this API returned")
		}
		q.Before = before
	}
	return q, nil
}

// encodeCursor makes the opaque next_cursor of a page whose next call
// reads ids below next.
func encodeCursor(next int64) string {
	return base64.RawURLEncoding.EncodeToString(strconv.AppendInt(nil, next, 10))
}

func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || b[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// eventQuery reads the explorer's filters and refuses one on a field
// masked for the reader (m nil: none is).
func eventQuery(r *http.Request, m *privacy.Masker) (store.EventQuery, error) {
	q, err := parseEventQuery(r)
	if err != nil {
		return q, err
	}
	for _, f := range []struct{ name, value string }{{"user_id", q.UserID}, {"session_id", q.SessionID}} {
		if f.value == "" {
			continue
		}
		if err := refusePersonal(m, f.name, f.name); err != nil {
			return q, err
		}
	}
	return q, nil
}

func (s *Server) searchEvents(w http.ResponseWriter, r *http.Request) error {
	m := s.maskerFor(r)
	q, err := eventQuery(r, m)
	if err != nil {
		return err
	}
	if q.Limit, err = parseLimit(r); err != nil {
		return err
	}
	events, next, err := s.deps.Explorer.SearchEvents(r.Context(), q)
	if err != nil {
		return fmt.Errorf("search events: %w", err)
	}
	if events == nil {
		events = []event.Stored{}
	}
	if m != nil {
		m.Events(events)
	}
	var cursor *string
	if next > 0 {
		c := encodeCursor(next)
		cursor = &c
	}
	return writeJSON(w, http.StatusOK, struct {
		Events     []event.Stored `json:"events"`
		NextCursor *string        `json:"next_cursor"`
	}{events, cursor})
}

// csvColumns is the header row of a CSV export.
var csvColumns = []string{
	"id", "event_id", "user_id", "event_type", "element_id", "session_id", "page",
	"message", "properties", "timestamp", "created_at", "source", "partition",
	"offset", "delay_seconds", "should_fail",
}

// exportWriter writes exported events in one format.
type exportWriter interface {
	begin() error
	write(e *event.Stored) error
	flush() error
}

type csvExport struct {
	w   *csv.Writer
	row []string
}

func (c *csvExport) begin() error { return c.w.Write(csvColumns) }

func (c *csvExport) write(e *event.Stored) error {
	c.row = append(c.row[:0],
		strconv.FormatInt(e.ID, 10), csvCell(e.EventID), csvCell(e.UserID), csvCell(e.EventType),
		csvCell(e.ElementID), csvCell(e.SessionID), csvCell(e.Page), csvCell(e.Message),
		csvCell(string(e.Properties)), e.Timestamp.UTC().Format(time.RFC3339Nano),
		e.CreatedAt.UTC().Format(time.RFC3339Nano), csvCell(string(e.Source)),
		strconv.FormatInt(int64(e.Partition), 10), strconv.FormatInt(e.Offset, 10),
		strconv.FormatFloat(e.DelaySeconds, 'f', -1, 64), strconv.FormatBool(e.ShouldFail),
	)
	return c.w.Write(c.row)
}

func (c *csvExport) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// csvCell defuses a text cell that a spreadsheet would run as a formula: a
// leading quote makes it plain text (OWASP's advice for CSV injection).
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

type ndjsonExport struct {
	enc *json.Encoder
}

func (n *ndjsonExport) begin() error                { return nil }
func (n *ndjsonExport) write(e *event.Stored) error { return n.enc.Encode(e) }
func (n *ndjsonExport) flush() error                { return nil }

// exportEvents streams every matching event as CSV or NDJSON. Rows are
// encoded into a buffer that goes out every exportFlushEvery rows (or
// exportFlushBytes), the status and headers with the first of it, so a store that fails at once
// or a first row that cannot be encoded still gets a JSON error. A failure
// after that aborts the response, which the client sees as a broken
// transfer: ending it cleanly would pass a short file for a whole one.
func (s *Server) exportEvents(w http.ResponseWriter, r *http.Request) error {
	m := s.maskerFor(r)
	q, err := eventQuery(r, m)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	var (
		buf         bytes.Buffer
		out         exportWriter
		contentType string
	)
	switch format {
	case "", "csv":
		format, contentType = "csv", "text/csv; charset=utf-8"
		out = &csvExport{w: csv.NewWriter(&buf)}
	case "ndjson":
		contentType = "application/x-ndjson"
		out = &ndjsonExport{enc: json.NewEncoder(&buf)}
	default:
		return Errorf(EInvalid, "format: must be csv or ndjson")
	}
	if err := out.begin(); err != nil {
		return fmt.Errorf("export events: %w", err)
	}
	rc := http.NewResponseController(w)
	// The write deadline would outlive the request on a kept-alive
	// connection; cleared at the end.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	started := false
	// send passes the rows encoded so far to the client.
	send := func() error {
		if err := out.flush(); err != nil {
			return err
		}
		if !started {
			started = true
			h := w.Header()
			h.Set("Content-Type", contentType)
			h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="pulse-events-%s.%s"`,
				time.Now().UTC().Format("20060102T150405Z"), format))
			h.Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
		}
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.ExportWriteTimeout))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		buf.Reset()
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	rows := 0
	err = s.deps.Explorer.ExportEvents(r.Context(), q, func(e event.Stored) error {
		if m != nil {
			e = m.Stored(e)
		}
		if err := out.write(&e); err != nil {
			return fmt.Errorf("encode event id %d (event_id %q): %w", e.ID, e.EventID, err)
		}
		if rows++; rows%exportFlushEvery == 0 || buf.Len() >= exportFlushBytes {
			return send()
		}
		return nil
	})
	if err == nil {
		err = send()
	}
	switch {
	case err == nil:
		return nil
	case !started:
		return fmt.Errorf("export events: %w", err)
	case r.Context().Err() != nil:
		// The client went away, or took no chunk within
		// ExportWriteTimeout; nothing is wrong here.
		s.log.Info("export cut off", "export", "events", "request_id", RequestID(r.Context()), "rows_encoded", rows, "err", err)
		return nil
	default:
		// The status is sent: abort, so that the client sees a broken
		// transfer and not a clean end (net/http resets the connection
		// and logs nothing for this panic).
		s.log.Error("export aborted", "request_id", RequestID(r.Context()), "rows_encoded", rows, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// Stage is one step of a message's timeline.
type Stage struct {
	Stage  string    `json:"stage"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

// Timeline stages.
const (
	StageProduced       = "produced"
	StageFetched        = "fetched"
	StageStarted        = "started"
	StageAttemptFailed  = "attempt_failed"
	StageRetryScheduled = "retry_scheduled"
	StageDeadLettered   = "dead_lettered"
	StageStored         = "stored"
	StageBroadcast      = "broadcast"
)

// Timeline is the answer of GET /api/messages/{event_id}/.
type Timeline struct {
	Message event.Message `json:"message"`
	Event   *event.Stored `json:"event"`
	Stages  []Stage       `json:"stages"`
}

func (s *Server) messageTimeline(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("event_id")
	if len(id) > event.MaxIDLen {
		return Errorf(EInvalid, "event_id: longer than %d bytes", event.MaxIDLen)
	}
	m, e, err := s.deps.Explorer.Message(r.Context(), id)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read message %s: %w", id, err)
	}
	// A message being processed now (a first delivery, or a replay of one
	// stored as dead-lettered) is newer than any stored row.
	if s.deps.Stats != nil {
		for _, f := range s.deps.Stats.InFlight() {
			if f.EventID == id {
				m, found = f, true
				break
			}
		}
	}
	if !found {
		return Errorf(ENotFound, "no message with event_id %q", id)
	}
	if mk := s.maskerFor(r); mk != nil {
		m = mk.Message(m)
		if e != nil {
			masked := mk.Stored(*e)
			e = &masked
		}
	}
	st := stages(&m)
	if s.deps.Rewinder != nil && m.CompletedAt != nil {
		// A rewind after the message was processed gave it back to the
		// group: the timeline says it was processed again.
		rw, err := s.deps.Rewinder.Rewinds(r.Context(), *m.CompletedAt)
		if err != nil {
			return fmt.Errorf("read the rewinds after message %s: %w", id, err)
		}
		st = append(st, reprocessedStages(&m, rw)...)
	}
	return writeJSON(w, http.StatusOK, Timeline{Message: m, Event: e, Stages: st})
}

// stages lays out what is known of m's way through Pulse, in order.
func stages(m *event.Message) []Stage {
	out := []Stage{{Stage: StageProduced, At: m.QueuedAt,
		Detail: fmt.Sprintf("%s partition %d offset %d", m.Topic, m.Partition, m.Offset)}}
	if m.ReplayOf != "" {
		out[0].Detail += ", replaying " + m.ReplayOf
	}
	if m.FetchedAt != nil {
		out = append(out, Stage{Stage: StageFetched, At: *m.FetchedAt, Detail: m.ConsumerID})
	}
	switch {
	case len(m.Attempts) > 0:
		out = append(out, Stage{Stage: StageStarted, At: m.Attempts[0].StartedAt})
	case m.StartedAt != nil:
		out = append(out, Stage{Stage: StageStarted, At: *m.StartedAt})
	}
	for _, a := range m.Attempts {
		detail := fmt.Sprintf("attempt %d: %s", a.N, a.Error)
		if a.ConsumerID != "" {
			// Several members' attempts after a crash or a rebalance.
			detail = fmt.Sprintf("attempt %d by %s: %s", a.N, a.ConsumerID, a.Error)
		}
		out = append(out, Stage{Stage: StageAttemptFailed, At: a.EndedAt, Detail: detail})
		if a.NextRetryAt != nil {
			out = append(out, Stage{Stage: StageRetryScheduled, At: *a.NextRetryAt,
				Detail: fmt.Sprintf("attempt %d", a.N+1)})
		}
	}
	switch m.Status {
	case event.StatusDeadLettered:
		if m.CompletedAt != nil {
			out = append(out, Stage{Stage: StageDeadLettered, At: *m.CompletedAt, Detail: m.Error})
		}
	case event.StatusCompleted:
		at := m.CompletedAt
		if m.StoredAt != nil {
			at = m.StoredAt
		}
		if at != nil {
			out = append(out, Stage{Stage: StageStored, At: *at})
		}
	}
	// The pipeline publishes a finished message to the live bus as soon as
	// the store write that holds it commits; the write's time is the
	// nearest one recorded.
	if m.Status.Terminal() && m.StoredAt != nil {
		out = append(out, Stage{Stage: StageBroadcast, At: *m.StoredAt,
			Detail: "published right after the store write"})
	}
	return out
}
