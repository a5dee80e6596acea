package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/store"
)

// Body limits of the ingest endpoints.
const (
	MaxEventBody = 64 << 10
	MaxBatchBody = 4 << 20
	// MaxBatchEvents caps the events of one batch request.
	MaxBatchEvents = 1000
)

func parseLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return store.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > store.MaxLimit {
		return 0, Errorf(EInvalid, "limit: must be an integer between 1 and %d", store.MaxLimit)
	}
	return n, nil
}

func (s *Server) latestEvents(w http.ResponseWriter, r *http.Request) error {
	limit, err := parseLimit(r)
	if err != nil {
		return err
	}
	events, err := s.deps.Store.LatestEvents(r.Context(), limit)
	if err != nil {
		return fmt.Errorf("read latest events: %w", err)
	}
	if events == nil {
		events = []event.Stored{}
	}
	if m := s.maskerFor(r); m != nil {
		m.Events(events)
	}
	return writeJSON(w, http.StatusOK, struct {
		Events []event.Stored `json:"events"`
		Stats  live.StatsJSON `json:"stats"`
	}{events, s.deps.Stats.Snapshot()})
}

// requireMedia checks the request's Content-Type against the accepted
// media types.
func requireMedia(r *http.Request, accepted ...string) (string, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, a := range accepted {
			if mt == a {
				return mt, nil
			}
		}
	}
	if ct == "" {
		ct = "none"
	}
	return "", Errorf(EUnsupportedMedia, "Content-Type must be %s, not %s", strings.Join(accepted, " or "), ct)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, Errorf(ETooLarge, "request body over the limit of %d bytes", limit)
		}
		return nil, Errorf(EInvalid, "read request body: %v", err)
	}
	return body, nil
}

func (s *Server) produceCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.ProduceTimeout)
}

func kafkaUnavailable(err error) error {
	return &Error{Kind: EUnavailable, Message: "kafka unavailable: " + err.Error(), Err: err}
}

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireMedia(r, "application/json"); err != nil {
		return err
	}
	body, err := readBody(w, r, MaxEventBody)
	if err != nil {
		return err
	}
	e, err := event.Decode(body)
	if err != nil {
		return Errorf(EInvalid, "%s", err.Error())
	}
	if e.SourceID != "" {
		return Errorf(EInvalid, "source_id: %s", sourceIDRefused)
	}
	// Only the id here: the producer fills an absent time and marks the
	// record so, which keeps a client's retry the same event.
	if e.EventID == "" {
		e.EventID = event.NewID()
	}
	rid := RequestID(r.Context())
	ctx, cancel := s.produceCtx(r)
	defer cancel()
	ack, err := s.deps.Producer.Produce(ctx, &e, event.SourceAPI, rid)
	if err != nil {
		return kafkaUnavailable(err)
	}
	return writeJSON(w, http.StatusCreated, struct {
		Status    string `json:"status"`
		EventID   string `json:"event_id"`
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
		RequestID string `json:"request_id"`
	}{"accepted", e.EventID, ack.Topic, ack.Partition, ack.Offset, rid})
}

// sourceIDRefused says why the event endpoints refuse a source_id: a
// source is named by its write key, which only the collector checks.
const sourceIDRefused = "is set by /api/collect from the source's write key, not by the client"

// batchValues splits a batch body into raw events: either one object
// {"events": [...]}, decoded strictly in one pass (decodeJSON), or a
// stream of event objects (NDJSON). A body whose first object has a
// member named events in any case is the wrapper, and refused as
// decodeJSON says when it is not exactly one.
func batchValues(body []byte) ([]json.RawMessage, error) {
	var wrapper struct {
		Events *[]jsontext.Value `json:"events"`
	}
	var values []json.RawMessage
	switch err := decodeJSON(body, &wrapper); {
	case err == nil && wrapper.Events == nil:
		return nil, Errorf(EInvalid, "events: must be an array of events")
	case err == nil:
		values = make([]json.RawMessage, len(*wrapper.Events))
		for i, v := range *wrapper.Events {
			values[i] = json.RawMessage(v)
		}
	case wrapped(body) || len(bytes.TrimSpace(body)) == 0:
		return nil, err
	default:
		if values, err = streamedValues(body); err != nil {
			return nil, err
		}
	}
	if len(values) == 0 {
		return nil, Errorf(EInvalid, "events: must hold at least one event")
	}
	if len(values) > MaxBatchEvents {
		return nil, Errorf(EInvalid, "events: %d events, over the limit of %d", len(values), MaxBatchEvents)
	}
	return values, nil
}

// wrapped reports whether body's first value is an object with a member
// named events, in any case: a wrapper, even a malformed one.
func wrapped(body []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return false
		}
		if strings.EqualFold(name.String(), "events") {
			return true
		}
		if dec.SkipValue() != nil {
			return false
		}
	}
	return false
}

// streamedValues splits a stream of JSON values (NDJSON) without copying
// them. Duplicate names and invalid UTF-8 are left for event.Decode,
// which names the field.
func streamedValues(body []byte) ([]json.RawMessage, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var values []json.RawMessage
	for {
		v, err := dec.ReadValue()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, Errorf(EInvalid, "events[%d]: invalid JSON: %v", len(values), err)
		}
		end := dec.InputOffset()
		values = append(values, json.RawMessage(body[end-int64(len(v)):end:end]))
		if len(values) > MaxBatchEvents {
			return nil, Errorf(EInvalid, "events: more than %d events in one batch", MaxBatchEvents)
		}
	}
	return values, nil
}

func (s *Server) batchEvents(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireMedia(r, "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl"); err != nil {
		return err
	}
	body, err := readBody(w, r, MaxBatchBody)
	if err != nil {
		return err
	}
	values, err := batchValues(body)
	if err != nil {
		return err
	}
	// Validate everything before producing anything.
	events := make([]*event.Event, len(values))
	ids := make([]string, len(values))
	for i, v := range values {
		e, err := event.Decode(v)
		if err != nil {
			var ve *event.Error
			if errors.As(err, &ve) && ve.Field != "" {
				return Errorf(EInvalid, "events[%d].%s: %s", i, ve.Field, ve.Reason)
			}
			return Errorf(EInvalid, "events[%d]: %s", i, err.Error())
		}
		if e.SourceID != "" {
			return Errorf(EInvalid, "events[%d].source_id: %s", i, sourceIDRefused)
		}
		if e.EventID == "" {
			e.EventID = event.NewID()
		}
		events[i] = &e
		ids[i] = e.EventID
	}
	// One id twice would store one event and answer for two.
	if i, j, ok := repeatedID(events); ok {
		return Errorf(EInvalid, "events[%d].event_id: repeats the event_id of events[%d]", j, i)
	}
	ctx, cancel := s.produceCtx(r)
	defer cancel()
	if err := s.deps.Producer.ProduceBatch(ctx, events, event.SourceAPI, RequestID(r.Context())); err != nil {
		return kafkaUnavailable(err)
	}
	return writeJSON(w, http.StatusCreated, struct {
		Accepted int      `json:"accepted"`
		EventIDs []string `json:"event_ids"`
	}{len(events), ids})
}

// repeatedID finds two events of a batch with one event_id: the first
// index and the repeat.
func repeatedID(events []*event.Event) (first, repeat int, found bool) {
	seen := make(map[string]int, len(events))
	for j, e := range events {
		if i, ok := seen[e.EventID]; ok {
			return i, j, true
		}
		seen[e.EventID] = j
	}
	return 0, 0, false
}

func (s *Server) queueMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.MessageFilter{Status: event.Status(q.Get("status")), Source: event.Source(q.Get("source"))}
	if f.Status != "" && !f.Status.Valid() {
		return Errorf(EInvalid, "status: must be one of queued, processing, retrying, completed, failed, dead_lettered")
	}
	if f.Source != "" && !f.Source.Valid() {
		return Errorf(EInvalid, "source: must be one of api, kafka, producer, collect")
	}
	limit, err := parseLimit(r)
	if err != nil {
		return err
	}
	f.Limit = limit
	msgs := make([]event.Message, 0, limit)
	for _, m := range s.deps.Stats.InFlight() {
		if len(msgs) == limit {
			break
		}
		if (f.Status == "" || m.Status == f.Status) && (f.Source == "" || m.Source == f.Source) {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) < limit {
		f.Limit = limit - len(msgs)
		stored, err := s.deps.Store.Messages(r.Context(), f)
		if err != nil {
			return fmt.Errorf("read messages: %w", err)
		}
		msgs = append(msgs, stored...)
	}
	if m := s.maskerFor(r); m != nil {
		m.Messages(msgs)
	}
	return writeJSON(w, http.StatusOK, struct {
		Messages []event.Message `json:"messages"`
		Count    int             `json:"count"`
	}{msgs, len(msgs)})
}

func (s *Server) queueStats(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, s.deps.Stats.Queue())
}

// Health statuses of /api/health/.
const (
	healthy   = "healthy"
	unhealthy = "unhealthy"
	unknown   = "unknown"
)

type databaseHealth struct {
	Status     string `json:"status"`
	EventCount int64  `json:"event_count"`
	QueueCount int64  `json:"queue_count"`
	Error      string `json:"error,omitempty"`
}

type kafkaHealth struct {
	Status           string `json:"status"`
	BootstrapServers string `json:"bootstrap_servers"`
	Topic            string `json:"topic"`
	Error            string `json:"error,omitempty"`
}

type consumersHealth struct {
	Status  string `json:"status"`
	Members int    `json:"members"`
	Error   string `json:"error,omitempty"`
}

type healthBody struct {
	Status     string    `json:"status"`
	Timestamp  time.Time `json:"timestamp"`
	Components struct {
		Database  databaseHealth  `json:"database"`
		Kafka     kafkaHealth     `json:"kafka"`
		Consumers consumersHealth `json:"consumers"`
	} `json:"components"`
}

// healthTimeout bounds each component check.
const healthTimeout = 3 * time.Second

// health checks the components concurrently. The overall status follows
// the database and Kafka; consumers may run in other processes, so their
// absence is reported but does not make this server unhealthy.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	var b healthBody
	b.Timestamp = time.Now().UTC()
	q := s.deps.Stats.Queue()
	b.Components.Database = databaseHealth{Status: healthy, EventCount: s.deps.Stats.Snapshot().TotalEvents, QueueCount: q.Total}
	b.Components.Kafka = kafkaHealth{Status: unknown, BootstrapServers: s.deps.BootstrapServers, Topic: s.deps.Topic}
	b.Components.Consumers = consumersHealth{Status: unknown}

	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.deps.Store.Ping(ctx); err != nil {
			b.Components.Database.Status, b.Components.Database.Error = unhealthy, err.Error()
		}
	})
	if s.deps.KafkaHealth != nil {
		wg.Go(func() {
			if err := s.deps.KafkaHealth(ctx); err != nil {
				b.Components.Kafka.Status, b.Components.Kafka.Error = unhealthy, err.Error()
				return
			}
			b.Components.Kafka.Status = healthy
		})
	}
	if s.deps.Consumers != nil {
		wg.Go(func() {
			m, err := s.deps.Consumers.ConsumerMetrics(ctx)
			c := &b.Components.Consumers
			switch {
			case err != nil:
				c.Status, c.Error = unhealthy, err.Error()
			case len(m.Consumers) == 0:
				c.Status, c.Error = unhealthy, "no consumer in group "+m.Group
			default:
				c.Status, c.Members = healthy, len(m.Consumers)
			}
		})
	}
	wg.Wait()
	status := http.StatusOK
	b.Status = healthy
	if b.Components.Database.Status != healthy || b.Components.Kafka.Status == unhealthy {
		status, b.Status = http.StatusServiceUnavailable, unhealthy
	}
	return writeJSON(w, status, b)
}

// seedMetrics are the seed's /api/metrics/ fields, in its order.
type seedMetrics struct {
	EventsTotal         int64            `json:"kafka_events_total"`
	EventsRecent5Min    int64            `json:"kafka_events_recent_5min"`
	QueueTotal          int64            `json:"kafka_queue_total"`
	QueueQueued         int64            `json:"kafka_queue_queued"`
	QueueProcessing     int64            `json:"kafka_queue_processing"`
	QueueCompleted      int64            `json:"kafka_queue_completed"`
	QueueFailed         int64            `json:"kafka_queue_failed"`
	QueueDeadLettered   int64            `json:"kafka_queue_dead_lettered"`
	ProcessingTimeAvgMS float64          `json:"kafka_processing_time_avg_ms"`
	EventTypes          map[string]int64 `json:"kafka_event_types"`
}

// prometheusText renders m in the Prometheus text format, the same
// numbers as the JSON.
func (m seedMetrics) prometheusText() string {
	var b strings.Builder
	line := func(name string, v string) {
		b.WriteString(name)
		b.WriteByte(' ')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	line("kafka_events_total", i(m.EventsTotal))
	line("kafka_events_recent_5min", i(m.EventsRecent5Min))
	line("kafka_queue_total", i(m.QueueTotal))
	line("kafka_queue_queued", i(m.QueueQueued))
	line("kafka_queue_processing", i(m.QueueProcessing))
	line("kafka_queue_completed", i(m.QueueCompleted))
	line("kafka_queue_failed", i(m.QueueFailed))
	line("kafka_queue_dead_lettered", i(m.QueueDeadLettered))
	line("kafka_processing_time_avg_ms", strconv.FormatFloat(m.ProcessingTimeAvgMS, 'f', -1, 64))
	types := make([]string, 0, len(m.EventTypes))
	for t := range m.EventTypes {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		// Event types match ^[a-z][a-z0-9_]*$, so they need no escaping.
		line(`kafka_event_types{event_type="`+t+`"}`, i(m.EventTypes[t]))
	}
	return b.String()
}

func (s *Server) metricsJSON(w http.ResponseWriter, r *http.Request) error {
	st := s.deps.Stats.Snapshot()
	m := seedMetrics{
		EventsTotal:         st.TotalEvents,
		EventsRecent5Min:    st.Recent5Min,
		QueueTotal:          st.Queue.Total,
		QueueQueued:         st.Queue.Queued,
		QueueProcessing:     st.Queue.Processing,
		QueueCompleted:      st.Queue.Completed,
		QueueFailed:         st.Queue.Failed,
		QueueDeadLettered:   st.Queue.DeadLettered,
		ProcessingTimeAvgMS: st.Queue.AvgProcessingTimeMS,
		EventTypes:          st.EventTypes,
	}
	return writeJSON(w, http.StatusOK, struct {
		Metrics          seedMetrics `json:"metrics"`
		PrometheusFormat string      `json:"prometheus_format"`
	}{m, m.prometheusText()})
}

func (s *Server) consumerMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.deps.Consumers == nil {
		return Errorf(EUnavailable, "consumer metrics unavailable: no consumer group configured")
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	m, err := s.deps.Consumers.ConsumerMetrics(ctx)
	if err != nil {
		return &Error{Kind: EUnavailable, Message: "consumer metrics unavailable: " + err.Error(), Err: err}
	}
	if m.Consumers == nil {
		m.Consumers = []ConsumerStats{}
	}
	if m.Partitions == nil {
		m.Partitions = []PartitionLag{}
	}
	for i := range m.Consumers {
		if m.Consumers[i].Partitions == nil {
			m.Consumers[i].Partitions = []int32{}
		}
	}
	return writeJSON(w, http.StatusOK, m)
}
