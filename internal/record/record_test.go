package record

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
)

// headerList is hs as "key=value" lines, to compare in order.
func headerList(hs []kgo.RecordHeader) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Key + "=" + string(h.Value)
	}
	return out
}

func headersOf(kv ...string) []kgo.RecordHeader {
	var hs []kgo.RecordHeader
	for i := 0; i+1 < len(kv); i += 2 {
		hs = append(hs, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return hs
}

// The headers a dead letter is written with are those Pulse has always
// written, byte for byte and in the same order, so the dead letters
// already in DLQ topics and the docs describing them stay valid; and
// reading them back gives the dead letter written.
func TestDeadLetterRoundTrip(t *testing.T) {
	failedAt := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	orig := headersOf("source", "api", "dlq_error", "from an earlier life", "request_id", "r1")
	d := DeadLetter{
		Topic: "user_events", Partition: 3, Offset: 42,
		Error: "simulated failure (should_fail)", Attempts: 4, ConsumerID: "c-1",
		FailedAt: failedAt, EventID: "e-1",
	}
	hs := d.Headers(orig)
	want := []string{
		"source=api", "request_id=r1",
		"dlq_original_topic=user_events", "dlq_original_partition=3", "dlq_original_offset=42",
		"dlq_error=simulated failure (should_fail)", "dlq_attempts=4", "dlq_consumer_id=c-1",
		"dlq_failed_at=2026-01-02T03:04:05.6Z", "dlq_event_id=e-1",
	}
	if got := headerList(hs); !slices.Equal(got, want) {
		t.Fatalf("headers\n got %q\nwant %q", got, want)
	}
	if headerList(orig)[1] != "dlq_error=from an earlier life" {
		t.Fatal("the original's headers changed")
	}

	for _, d := range []DeadLetter{
		d,
		{Topic: "t", Partition: 0, Offset: 0, Attempts: 1, FailedAt: failedAt},
		{
			Topic: "user_events", Partition: 1, Offset: 7, Error: "invalid JSON", Attempts: 1,
			ConsumerID: "c-2", FailedAt: failedAt, EventID: event.DerivedID("user_events", 1, 7),
			Truncated: true, TruncatedFrom: 70_000, HeadersDropped: true, DroppedHeaders: 0,
			KeyDropped: true, DroppedKeyBytes: 30_000,
		},
	} {
		// A local time is written, and read back, in UTC.
		in := d
		in.FailedAt = d.FailedAt.In(time.FixedZone("CET", 3600))
		kr := &kgo.Record{Topic: "user_events_dlq", Headers: in.Headers(orig), Timestamp: time.Now()}
		if got := ParseDeadLetter(kr); got != d {
			t.Errorf("round trip\n got %+v\nwant %+v", got, d)
		}
	}
}

// Any client may write to the DLQ topic, and earlier Pulses wrote fewer
// headers (no dlq_event_id, no dlq_consumer_id or dlq_failed_at before
// that): a dead letter is read as far as it says anything.
func TestParseDeadLetterOfAnEarlierPulse(t *testing.T) {
	written := time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("CEST", 7200))
	old := &kgo.Record{
		Topic: "user_events_dlq", Partition: 0, Offset: 9, Timestamp: written,
		Headers: headersOf(
			"source", "producer",
			"dlq_original_topic", "user_events", "dlq_original_partition", "2", "dlq_original_offset", "17",
			"dlq_error", "user_id: is required", "dlq_attempts", "1",
		),
	}
	d := ParseDeadLetter(old)
	want := DeadLetter{
		Topic: "user_events", Partition: 2, Offset: 17, Error: "user_id: is required", Attempts: 1,
		FailedAt: written.UTC(),
	}
	if d != want {
		t.Fatalf("parsed\n got %+v\nwant %+v", d, want)
	}
	// Its original, without event_id, was stored under the id derived
	// from its coordinates.
	if got, want := d.DerivedID(), event.DerivedID("user_events", 2, 17); got != want {
		t.Errorf("derived id %q, want %q", got, want)
	}

	// Junk values leave the defaults; nothing at all is not an error.
	junk := &kgo.Record{Timestamp: written, Headers: headersOf(
		"dlq_original_partition", "two", "dlq_original_offset", "", "dlq_attempts", "many",
		"dlq_failed_at", "yesterday", "dlq_truncated_from", "big", "dlq_event_id", "my-own-id",
	)}
	d = ParseDeadLetter(junk)
	if want := (DeadLetter{Partition: -1, Offset: -1, FailedAt: written.UTC(), EventID: "my-own-id"}); d != want {
		t.Fatalf("parsed junk\n got %+v\nwant %+v", d, want)
	}
	if id := d.DerivedID(); id != "" {
		t.Errorf("derived id %q of a dead letter that says neither", id)
	}
	if d = ParseDeadLetter(&kgo.Record{Timestamp: written}); d.Partition != -1 || d.Offset != -1 || !d.FailedAt.Equal(written) {
		t.Fatalf("parsed a record without headers: %+v", d)
	}

	// A dead letter naming a derived id is replayed under it.
	id := event.DerivedID("other", 0, 1)
	named := &kgo.Record{Headers: headersOf("dlq_original_topic", "user_events", "dlq_original_offset", "5", "dlq_event_id", id)}
	if d := ParseDeadLetter(named); d.DerivedID() != id {
		t.Errorf("derived id %q, want the one named, %q", d.DerivedID(), id)
	}
}

// A dead letter the DLQ topic refuses is cut more at each level, and each
// cut is named so that the reader knows what is missing.
func TestShrinkLevels(t *testing.T) {
	failedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := DeadLetter{Topic: "user_events", Partition: 1, Offset: 5, Error: "invalid JSON", Attempts: 1, FailedAt: failedAt, EventID: "e"}
	orig := headersOf("h1", "a", "h2", "b")
	big := bytes.Repeat([]byte("x"), event.MaxRecordBytes+10)
	small := []byte("not json")
	key := []byte("the-key")
	for _, c := range []struct {
		level     int
		value     []byte
		wantValue int
		// what the parsed dead letter says besides d
		truncated, headersDropped, keyDropped bool
		ownHeaders                            int
	}{
		{level: 1, value: big, wantValue: event.MaxRecordBytes, truncated: true, ownHeaders: 2},
		{level: 1, value: small, wantValue: 0, truncated: true, ownHeaders: 2},
		{level: 2, value: big, wantValue: 0, truncated: true, ownHeaders: 2},
		{level: 3, value: big, wantValue: 0, truncated: true, headersDropped: true},
		{level: 4, value: big, wantValue: 0, truncated: true, headersDropped: true, keyDropped: true},
	} {
		t.Run(fmt.Sprintf("level %d of %d bytes", c.level, len(c.value)), func(t *testing.T) {
			hs := d.Headers(orig)
			before := headerList(hs)
			out := &kgo.Record{Key: key, Value: c.value, Headers: hs}
			Shrink(out, c.level, len(c.value))
			if len(out.Value) != c.wantValue {
				t.Errorf("value of %d bytes, want %d", len(out.Value), c.wantValue)
			}
			if c.keyDropped != (out.Key == nil) {
				t.Errorf("key %q", out.Key)
			}
			own := 0
			for _, h := range out.Headers {
				if !strings.HasPrefix(h.Key, "dlq_") {
					own++
				}
			}
			if own != c.ownHeaders {
				t.Errorf("%d of the original's headers kept, want %d: %q", own, c.ownHeaders, headerList(out.Headers))
			}
			if !slices.Equal(headerList(hs), before) {
				t.Error("the headers to retry from changed")
			}
			want := d
			want.Truncated, want.TruncatedFrom = c.truncated, len(c.value)
			if c.headersDropped {
				want.HeadersDropped, want.DroppedHeaders = true, len(orig)
			}
			if c.keyDropped {
				want.KeyDropped, want.DroppedKeyBytes = true, len(key)
			}
			if got := ParseDeadLetter(out); got != want {
				t.Errorf("parsed\n got %+v\nwant %+v", got, want)
			}
			// Writing what was parsed gives the same dead-letter headers.
			var dlq []kgo.RecordHeader
			for _, h := range out.Headers {
				if strings.HasPrefix(h.Key, "dlq_") {
					dlq = append(dlq, h)
				}
			}
			if got := headerList(want.Headers(nil)); !slices.Equal(got, headerList(dlq)) {
				t.Errorf("written again\n got %q\nwant %q", got, headerList(dlq))
			}
		})
	}
}

// What the producer writes on an event record reads back the same; a
// replay of a dead letter drops the dead letter's headers and reads back
// as a replay.
func TestEventHeadersRoundTrip(t *testing.T) {
	hs := EventHeaders(event.SourceAPI, "req-1", true)
	if got, want := headerList(hs), []string{"source=api", "request_id=req-1", "timestamp_filled=1"}; !slices.Equal(got, want) {
		t.Fatalf("headers %q, want %q", got, want)
	}
	if m, want := ParseMeta(hs), (Meta{Source: event.SourceAPI, RequestID: "req-1", TimestampFilled: true}); m != want {
		t.Fatalf("parsed %+v, want %+v", m, want)
	}
	if got := headerList(EventHeaders(event.SourceProducer, "", false)); !slices.Equal(got, []string{"source=producer"}) {
		t.Fatalf("headers %q", got)
	}

	d := DeadLetter{Topic: "user_events", Partition: 1, Offset: 42, Error: "e", Attempts: 4, FailedAt: time.Now(),
		EventID: event.DerivedID("user_events", 1, 42)}
	earlier := headersOf("source", "producer", "request_id", "r1", "replay_of", "user_events_dlq/0/1",
		"replayed_at", "2026-01-01T00:00:00Z", "replay_event_id", "x", "x-trace", "1")
	dl := &kgo.Record{Topic: "user_events_dlq", Partition: 2, Offset: 7, Headers: d.Headers(earlier)}
	now := time.Date(2026, 2, 3, 4, 5, 6, 0, time.FixedZone("CET", 3600))
	rs := ReplayHeaders(dl, "user_events_dlq", now, d.DerivedID())
	want := []string{
		"source=producer", "request_id=r1", "x-trace=1",
		"replay_of=user_events_dlq/2/7", "replayed_at=2026-02-03T03:05:06Z", "replay_event_id=" + d.EventID,
	}
	if got := headerList(rs); !slices.Equal(got, want) {
		t.Fatalf("replay headers\n got %q\nwant %q", got, want)
	}
	wantMeta := Meta{Source: event.SourceProducer, RequestID: "r1", ReplayOf: "user_events_dlq/2/7", ReplayEventID: d.EventID}
	if m := ParseMeta(rs); m != wantMeta {
		t.Fatalf("parsed %+v, want %+v", m, wantMeta)
	}
	if got := headerList(ReplayHeaders(dl, "user_events_dlq", now, "")); len(got) != 5 {
		t.Fatalf("replay headers without a derived id %q", got)
	}
}

// Event headers come from any Kafka client: a value is kept only when it
// can be stored and logged as it is.
func TestParseMetaKeepsOnlySaneValues(t *testing.T) {
	derived := event.DerivedID("user_events", 0, 3)
	for _, c := range []struct {
		name    string
		headers []string
		want    Meta
	}{
		{"escape sequence", []string{"request_id", "req\x1b[31mred"}, Meta{}},
		{"NUL", []string{"request_id", "req\x00nul"}, Meta{}},
		{"bidi override", []string{"request_id", "req\u202egnp.exe"}, Meta{}},
		{"C1 control", []string{"request_id", "req\u0085next"}, Meta{}},
		{"invalid UTF-8", []string{"request_id", "req\xffbad"}, Meta{}},
		{"too long", []string{"request_id", strings.Repeat("r", event.MaxIDLen+1)}, Meta{}},
		{"the last sane one", []string{"request_id", "a", "request_id", "b", "request_id", "\x00"}, Meta{RequestID: "b"}},
		{"unknown source", []string{"source", "<script>"}, Meta{}},
		{"a known source after junk", []string{"source", "producer", "source", "\x00"}, Meta{Source: event.SourceProducer}},
		{"timestamp_filled not 1", []string{"timestamp_filled", "yes"}, Meta{}},
		{"replay_of with a BEL", []string{"replay_of", "user_events_dlq/0/\x07"}, Meta{}},
		{"replay_of too long", []string{"replay_of", strings.Repeat("t", 301)}, Meta{}},
		// replay_event_id counts on a replay only, and only as a derived
		// id in its canonical form.
		{"replay event id", []string{"replay_of", "d/0/1", "replay_event_id", derived}, Meta{ReplayOf: "d/0/1", ReplayEventID: derived}},
		{"insane replay_of still a replay", []string{"replay_of", "\x00", "replay_event_id", derived}, Meta{ReplayEventID: derived}},
		{"replay event id without replay_of", []string{"replay_event_id", derived}, Meta{}},
		{"replay event id not derived", []string{"replay_of", "d/0/1", "replay_event_id", "my-own-id"}, Meta{ReplayOf: "d/0/1"}},
		{"replay event id not canonical", []string{"replay_of", "d/0/1", "replay_event_id", strings.ReplaceAll(derived, "-", "")}, Meta{ReplayOf: "d/0/1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if m := ParseMeta(headersOf(c.headers...)); m != c.want {
				t.Errorf("parsed %+v, want %+v", m, c.want)
			}
		})
	}
}

// Reading an event record's headers costs the pipeline nothing beyond the
// strings it keeps: here the source, as on every record Pulse produces.
func TestParseMetaAllocations(t *testing.T) {
	hs := EventHeaders(event.SourceProducer, "", true)
	if n := testing.AllocsPerRun(100, func() { _ = ParseMeta(hs) }); n > 1 {
		t.Errorf("%v allocations per record, want at most 1", n)
	}
}
