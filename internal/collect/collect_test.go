package collect

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/record"
	"github.com/pulse-dev/pulse/internal/store"
)

// fakeProducer builds records as kafka.Producer does and keeps the ones
// sent.
type fakeProducer struct {
	mu   sync.Mutex
	sent []*kgo.Record
	fail error
}

func (p *fakeProducer) Record(e *event.Event, src event.Source, requestID string) (*kgo.Record, error) {
	filled := e.Normalize(time.Now())
	if err := e.Validate(); err != nil {
		return nil, err
	}
	v, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Key: e.Key(), Value: v, Headers: record.EventHeaders(src, requestID, filled)}, nil
}

func (p *fakeProducer) ProduceRecords(_ context.Context, recs []*kgo.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.sent = append(p.sent, recs...)
	return nil
}

type fakeSink struct {
	mu       sync.Mutex
	points   []ledger.Point
	warnings []store.PlanWarning
	fail     error
}

func (s *fakeSink) AddLedger(_ context.Context, points []ledger.Point) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.points = append(s.points, points...)
	return nil
}

func (s *fakeSink) AddPlanWarnings(_ context.Context, ws []store.PlanWarning) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.warnings = append(s.warnings, ws...)
	return nil
}

func (s *fakeSink) total(sourceID string) ledger.Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c ledger.Counts
	for _, p := range s.points {
		if p.SourceID == sourceID {
			c.Add(p.Counts)
		}
	}
	return c
}

var shop = store.Source{ID: "src_shop", Name: "shop", WriteKey: "pk_shop"}

func batch(events ...string) Batch {
	b := Batch{}
	for _, e := range events {
		b.Events = append(b.Events, jsontext.Value(e))
	}
	return b
}

func decoded(t *testing.T, r *kgo.Record) event.Event {
	t.Helper()
	e, err := event.Decode(r.Value)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

const goodEvent = `{"event_id":"0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b","event_type":"page_view","anonymous_id":"anon-1","session_id":"s1","stream_id":"st1","seq":1,"timestamp":"2026-12-02T10:00:00Z","page":"https://shop.example/"}`

func TestCollectKeepsTheGoodEventsAndNamesTheBadOnes(t *testing.T) {
	p, sink := &fakeProducer{}, &fakeSink{}
	c := New(p, sink, nil, nil, prometheus.NewRegistry())
	now := time.Date(2026, 12, 2, 10, 0, 1, 0, time.UTC)
	res, err := c.Collect(t.Context(), shop, batch(
		goodEvent,
		`{"event_type":"Bad Type","anonymous_id":"a"}`,
		`{"event_type":"page_view","anonymous_id":"a","source_id":"src_other"}`,
		`{"event_type":"page_view","anonymous_id":"a","delay_seconds":5}`,
		`{"event_type":"page_view","anonymous_id":"a","should_fail":true}`,
		`{"event_type":"page_view"}`,
		`{"event_id":"0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b","event_type":"page_view","anonymous_id":"anon-1"}`,
		`{"event_type":"page_view","anonymous_id":"a","seq":3}`,
		`[1,2]`,
	), now, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	wantFields := []string{"events[1].event_type", "events[2].source_id", "events[3].delay_seconds", "events[4].should_fail",
		"events[5].user_id", "events[6].event_id", "events[7].stream_id", "events[8]"}
	if res.Accepted != 1 || len(res.Rejected) != len(wantFields) {
		t.Fatalf("accepted %d, rejected %+v", res.Accepted, res.Rejected)
	}
	for i, f := range wantFields {
		if res.Rejected[i].Field != f || res.Rejected[i].Index != i+1 || res.Rejected[i].Error == "" {
			t.Errorf("rejection %d: %+v, want field %s", i, res.Rejected[i], f)
		}
	}
	if len(p.sent) != 1 {
		t.Fatalf("%d records sent", len(p.sent))
	}
	r := p.sent[0]
	e := decoded(t, r)
	if e.SourceID != shop.ID || e.UserID != "anon-1" || e.AnonymousID != "anon-1" || e.Seq != 1 || e.StreamID != "st1" {
		t.Fatalf("event %+v", e)
	}
	if header(r, record.HeaderSource) != string(event.SourceCollect) || header(r, record.HeaderRequestID) != "req-1" {
		t.Fatalf("headers %+v", r.Headers)
	}
	if header(r, record.HeaderSkewCorrected) != "" || !e.Timestamp.Equal(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("time moved without a sent_at: %v", e.Timestamp)
	}
	c.Flush(t.Context())
	if got := sink.total(shop.ID); got.Received != 1 || got.Rejected != 8 {
		t.Fatalf("ledger %+v", got)
	}
}

func TestCollectCorrectsAClientClockThatIsOff(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		sentAt time.Time
		moved  time.Duration
	}{
		{"an hour behind", now.Add(-time.Hour), time.Hour},
		{"a day ahead", now.Add(24 * time.Hour), -24 * time.Hour},
		{"within the threshold", now.Add(-SkewThreshold + time.Millisecond), 0},
		{"no sent_at", time.Time{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &fakeProducer{}
			c := New(p, &fakeSink{}, nil, nil, nil)
			b := batch(goodEvent)
			b.SentAt = tc.sentAt
			if _, err := c.Collect(t.Context(), shop, b, now, ""); err != nil {
				t.Fatal(err)
			}
			e := decoded(t, p.sent[0])
			want := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).Add(tc.moved)
			if !e.Timestamp.Equal(want) {
				t.Fatalf("timestamp %v, want %v", e.Timestamp, want)
			}
			if got, want := header(p.sent[0], record.HeaderSkewCorrected) == "1", tc.moved != 0; got != want {
				t.Fatalf("skew_corrected header %v, want %v", got, want)
			}
		})
	}
}

func TestClientDroppedTravelsWithTheFirstAcceptedEventOnly(t *testing.T) {
	p, sink := &fakeProducer{}, &fakeSink{}
	c := New(p, sink, nil, nil, nil)
	b := batch(`{"event_type":"bad type","anonymous_id":"a"}`, goodEvent,
		`{"event_id":"0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7c","event_type":"page_view","anonymous_id":"a"}`)
	b.Dropped = 7
	if _, err := c.Collect(t.Context(), shop, b, time.Now(), ""); err != nil {
		t.Fatal(err)
	}
	if got := record.ParseMeta(p.sent[0].Headers).Delivery.ClientDropped; got != 7 {
		t.Fatalf("first accepted event carries %d dropped, want 7", got)
	}
	if got := record.ParseMeta(p.sent[1].Headers).Delivery.ClientDropped; got != 0 {
		t.Fatalf("second event carries %d dropped", got)
	}
	c.Flush(t.Context())
	if got := sink.total(shop.ID); got.DroppedClient != 0 {
		t.Fatalf("the collector counted %d dropped itself; the store counts them with the event", got.DroppedClient)
	}

	// With no event accepted, nothing can carry it: the collector counts it.
	b = batch(`{"event_type":"bad type","anonymous_id":"a"}`)
	b.Dropped = 3
	if _, err := c.Collect(t.Context(), shop, b, time.Now(), ""); err != nil {
		t.Fatal(err)
	}
	c.Flush(t.Context())
	if got := sink.total(shop.ID); got.DroppedClient != 3 {
		t.Fatalf("dropped %d, want 3", got.DroppedClient)
	}
}

func TestCollectWhenKafkaFails(t *testing.T) {
	p, sink := &fakeProducer{fail: errors.New("no leader")}, &fakeSink{}
	c := New(p, sink, nil, nil, nil)
	_, err := c.Collect(t.Context(), shop, batch(goodEvent), time.Now(), "")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err %v, want ErrUnavailable", err)
	}
	c.Flush(t.Context())
	if got := sink.total(shop.ID); !got.Zero() {
		t.Fatalf("a batch Kafka refused was counted: %+v", got)
	}
}

func TestLedgerCountsSurviveAFailedWrite(t *testing.T) {
	p, sink := &fakeProducer{}, &fakeSink{fail: errors.New("database is locked")}
	reg := prometheus.NewRegistry()
	c := New(p, sink, nil, nil, reg)
	now := time.Now()
	for i := range 3 {
		id := "0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a" + strconv.Itoa(10+i)
		if _, err := c.Collect(t.Context(), shop, batch(`{"event_id":"`+id+`","event_type":"page_view","anonymous_id":"a"}`), now, ""); err != nil {
			t.Fatal(err)
		}
	}
	c.DropDNT(shop, 4, now)
	c.Flush(t.Context())
	sink.mu.Lock()
	sink.fail = nil
	sink.mu.Unlock()
	c.Flush(t.Context())
	if got := sink.total(shop.ID); got.Received != 3 || got.DNTDropped != 4 {
		t.Fatalf("after a failed and a good write: %+v", got)
	}
	if len(sink.points) != 1 {
		t.Fatalf("%d points for one source and bucket", len(sink.points))
	}
	if got := testutil.ToFloat64(c.metrics.events.WithLabelValues(shop.ID, "received")); got != 3 {
		t.Fatalf("metric received %v", got)
	}
}

type fixedLedger []ledger.Point

func (f fixedLedger) LedgerSeries(_ context.Context, _ string, from, to time.Time, _ time.Duration) ([]ledger.Point, error) {
	var out []ledger.Point
	for _, p := range f {
		if !p.T.Before(from) && p.T.Before(to) {
			out = append(out, p)
		}
	}
	return out, nil
}

func TestLedgerMetricsCoverTheLastDay(t *testing.T) {
	now := time.Now()
	m := NewLedgerMetrics(fixedLedger{
		{T: now.Add(-time.Hour), SourceID: "src_a", Counts: ledger.Counts{Numbered: 10, Sequenced: 7, Stored: 8, Duplicates: 2}},
		{T: now.Add(-2 * time.Hour), SourceID: "src_a", Counts: ledger.Counts{Numbered: 1, Sequenced: 1, Stored: 1}},
		{T: now.Add(-25 * time.Hour), SourceID: "src_a", Counts: ledger.Counts{Numbered: 100}},
	}, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	n, err := testutil.GatherAndCount(reg, "pulse_ledger_last_24h_events")
	if err != nil || n != 10 {
		t.Fatalf("%d series, %v", n, err)
	}
	got, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, mf := range got {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "count" {
					values[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	if values["gaps"] != 3 || values["numbered"] != 11 || values["stored"] != 9 || values["duplicates"] != 2 {
		t.Fatalf("gauges %v", values)
	}
}
