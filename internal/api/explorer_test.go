package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// explorerEnv is an API server over a real SQLite store with the explorer
// wired, as the server wires it.
type explorerEnv struct {
	t     *testing.T
	db    *sqlite.DB
	stats *live.Stats
	srv   *httptest.Server
}

func newExplorerEnv(t *testing.T) *explorerEnv {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	stats := live.NewStats(store.Totals{}, nil)
	srv := httptest.NewServer(New(Config{Loopback: true}, Deps{Store: db, Stats: stats, Explorer: db},
		nil, prometheus.NewRegistry()).Handler())
	t.Cleanup(srv.Close)
	return &explorerEnv{t: t, db: db, stats: stats, srv: srv}
}

func (e *explorerEnv) get(path string) response {
	e.t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// explorerBase is the timestamp of event x0000; x(i) is i minutes later.
var explorerBase = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// seedExplorer stores n events x0000.. oldest first, in batches, with
// fields that follow their number.
func (e *explorerEnv) seedExplorer(n int) {
	e.t.Helper()
	batch := make([]store.Record, 0, 500)
	for i := range n {
		ev := &event.Event{
			EventID:   fmt.Sprintf("x%04d", i),
			UserID:    fmt.Sprintf("user-%d", i%3),
			EventType: []string{event.TypePageView, event.TypeButtonClick}[i%2],
			ElementID: fmt.Sprintf("el-%d", i%5),
			SessionID: fmt.Sprintf("s-%d", i/10),
			Page:      "/shop",
			Timestamp: explorerBase.Add(time.Duration(i) * time.Minute),
		}
		if i == 7 {
			ev.Message = "Coupon SPRING applied"
		}
		batch = append(batch, store.Record{Event: ev, Message: event.Message{
			EventID: ev.EventID, EventType: ev.EventType, UserID: ev.UserID, ElementID: ev.ElementID,
			Status: event.StatusCompleted, Source: event.SourceAPI, Topic: topic, Offset: int64(i),
			QueuedAt: ev.Timestamp,
		}})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := e.db.Write(context.Background(), batch); err != nil {
				e.t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

type explorerPage struct {
	Events     []event.Stored `json:"events"`
	NextCursor *string        `json:"next_cursor"`
}

func (e *explorerEnv) page(query string) explorerPage {
	e.t.Helper()
	r := e.get("/api/events/?" + query)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /api/events/?%s: status %d: %s", query, r.status, r.body)
	}
	var p explorerPage
	r.json(e.t, &p)
	if p.Events == nil {
		e.t.Fatalf("GET /api/events/?%s: events is not an array: %s", query, r.body)
	}
	return p
}

// expect lists x ids matching, newest first, among the first n.
func expect(n int, match func(i int) bool) []string {
	var ids []string
	for i := n - 1; i >= 0; i-- {
		if match(i) {
			ids = append(ids, fmt.Sprintf("x%04d", i))
		}
	}
	return ids
}

func ids(events []event.Stored) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.EventID
	}
	return out
}

func TestExplorerFilters(t *testing.T) {
	env := newExplorerEnv(t)
	const n = 40
	env.seedExplorer(n)
	at := func(i int) string {
		return url.QueryEscape(explorerBase.Add(time.Duration(i) * time.Minute).Format(time.RFC3339))
	}
	for _, tc := range []struct {
		query string
		match func(i int) bool
	}{
		{"", func(int) bool { return true }},
		{"user_id=user-1", func(i int) bool { return i%3 == 1 }},
		{"event_type=button_click", func(i int) bool { return i%2 == 1 }},
		{"element_id=el-4", func(i int) bool { return i%5 == 4 }},
		{"session_id=s-2", func(i int) bool { return i/10 == 2 }},
		{"from=" + at(35), func(i int) bool { return i >= 35 }},
		{"to=" + at(3), func(i int) bool { return i < 3 }},
		{"from=" + at(10) + "&to=" + at(12), func(i int) bool { return i == 10 || i == 11 }},
		{"from=" + url.QueryEscape("2026-05-01T14:30:00.5+02:00"), func(i int) bool { return i >= 31 }},
		{"from=2026-05-01T14:30:00.5+02:00", func(i int) bool { return i >= 31 }},
		{"q=spring", func(i int) bool { return i == 7 }},
		{"q=el-3", func(i int) bool { return i%5 == 3 }},
		{"q=%2Fshop&user_id=user-0&event_type=page_view", func(i int) bool { return i%6 == 0 }},
		{"user_id=nobody", func(int) bool { return false }},
	} {
		p := env.page("limit=1000&" + tc.query)
		if got, want := ids(p.Events), expect(n, tc.match); !slices.Equal(got, want) {
			t.Errorf("%q: events %q, want %q", tc.query, got, want)
		}
		if p.NextCursor != nil {
			t.Errorf("%q: next_cursor %q, want null", tc.query, *p.NextCursor)
		}
	}
	// Stored events come back with every field, as /api/events/latest/.
	r := env.get("/api/events/?limit=1")
	var raw struct {
		Events []map[string]json.RawMessage `json:"events"`
	}
	r.json(t, &raw)
	for _, k := range []string{"id", "event_id", "user_id", "event_type", "element_id", "timestamp", "source", "partition", "offset", "created_at"} {
		if _, ok := raw.Events[0][k]; !ok {
			t.Errorf("event lacks %s: %s", k, r.body)
		}
	}
}

func TestExplorerCursor(t *testing.T) {
	env := newExplorerEnv(t)
	const n = 123
	env.seedExplorer(n)

	// The default page is 50, with a cursor to the rest.
	p := env.page("")
	if len(p.Events) != store.DefaultLimit || p.NextCursor == nil {
		t.Fatalf("default page: %d events, cursor %v", len(p.Events), p.NextCursor)
	}
	for _, tc := range []struct {
		query string
		match func(i int) bool
	}{
		{"limit=7", func(int) bool { return true }},
		{"limit=5&user_id=user-2", func(i int) bool { return i%3 == 2 }},
		{"limit=4&q=el-1", func(i int) bool { return i%5 == 1 }},
		{"limit=1000", func(int) bool { return true }},
	} {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatalf("%q: paging did not end", tc.query)
			}
			q := tc.query
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			p := env.page(q)
			got = append(got, ids(p.Events)...)
			if p.NextCursor == nil {
				break
			}
			cursor = *p.NextCursor
		}
		if want := expect(n, tc.match); !slices.Equal(got, want) {
			t.Errorf("%q: paged through %d events %q, want every match once newest first: %q", tc.query, len(got), got, want)
		}
	}
}

func TestExplorerBadParams(t *testing.T) {
	env := newExplorerEnv(t)
	env.seedExplorer(3)
	b64 := base64.RawURLEncoding.EncodeToString
	for _, path := range []string{
		"/api/events/?from=yesterday",
		"/api/events/?to=2026-05-01",
		"/api/events/?from=2026-05-01T12:00:00Z&to=2026-05-01T11:00:00Z",
		"/api/events/?from=2026-05-01T12:00:00Z&to=2026-05-01T12:00:00Z",
		"/api/events/?cursor=***",
		"/api/events/?cursor=" + b64([]byte("abc")),
		"/api/events/?cursor=" + b64([]byte("0")),
		"/api/events/?cursor=" + b64([]byte("-5")),
		"/api/events/?cursor=" + b64([]byte("99999999999999999999")),
		"/api/events/?limit=0",
		"/api/events/?limit=1001",
		"/api/events/?limit=ten",
		"/api/events/?user_id=" + strings.Repeat("u", event.MaxIDLen+1),
		"/api/events/?q=" + strings.Repeat("q", maxQueryText+1),
		"/api/events/export/?format=xlsx",
		"/api/events/export/?format=csv&from=never",
		"/api/events/export/?cursor=nope",
		"/api/messages/" + strings.Repeat("m", event.MaxIDLen+1) + "/",
	} {
		r := env.get(path)
		if r.status != http.StatusBadRequest || !strings.Contains(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: status %d (%s), want 400 JSON: %s", path, r.status, r.header.Get("Content-Type"), r.body)
			continue
		}
		r.errorText(t)
	}
}

func TestExplorerDisabledWithoutExplorer(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(New(Config{Loopback: true}, Deps{Store: db, Stats: live.NewStats(store.Totals{}, nil)},
		nil, prometheus.NewRegistry()).Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/api/events/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/api/events/ without an explorer: status %d, want 404", resp.StatusCode)
	}
}

func TestExportCSV(t *testing.T) {
	env := newExplorerEnv(t)
	tricky := []*event.Event{
		{EventID: "t1", UserID: "=cmd|' /C calc'!A0", EventType: "page_view", ElementID: "+1", Page: "-2+3",
			Message: "@SUM(A1:A9)", Properties: json.RawMessage(`{"a": "x,y", "b": "say \"hi\"\nbye"}`)},
		{EventID: "t2", UserID: "plain, with comma", EventType: "page_view", ElementID: "line\nbreak",
			Message: "\ttab first", SessionID: "sess"},
	}
	var recs []store.Record
	for i, e := range tricky {
		e.Timestamp = explorerBase.Add(time.Duration(i) * time.Second)
		recs = append(recs, store.Record{Event: e, Message: event.Message{EventID: e.EventID, Status: event.StatusCompleted,
			Source: event.SourceProducer, Partition: 2, Offset: int64(40 + i), QueuedAt: e.Timestamp}})
	}
	if _, err := env.db.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}

	r := env.get("/api/events/export/?format=csv")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("parse CSV: %v\n%s", err, r.body)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], csvColumns) {
		t.Fatalf("CSV rows %q, want the header and 2 rows", rows)
	}
	col := func(row []string, name string) string { return row[slices.Index(csvColumns, name)] }
	t2, t1 := rows[1], rows[2]
	for _, c := range []struct{ got, want string }{
		{col(t1, "event_id"), "t1"},
		{col(t1, "user_id"), "'=cmd|' /C calc'!A0"},
		{col(t1, "element_id"), "'+1"},
		{col(t1, "page"), "'-2+3"},
		{col(t1, "message"), "'@SUM(A1:A9)"},
		{col(t1, "properties"), `{"a": "x,y", "b": "say \"hi\"\nbye"}`},
		{col(t1, "timestamp"), "2026-05-01T12:00:00Z"},
		{col(t1, "source"), "producer"},
		{col(t1, "partition"), "2"},
		{col(t1, "offset"), "40"},
		{col(t1, "should_fail"), "false"},
		{col(t2, "user_id"), "plain, with comma"},
		{col(t2, "element_id"), "line\nbreak"},
		{col(t2, "message"), "'\ttab first"},
		{col(t2, "properties"), ""},
		{col(t2, "session_id"), "sess"},
	} {
		if c.got != c.want {
			t.Errorf("cell %q, want %q", c.got, c.want)
		}
	}

	// Filters apply; no match still gives the header row.
	r = env.get("/api/events/export/?session_id=none")
	if rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll(); r.status != http.StatusOK || err != nil || len(rows) != 1 {
		t.Errorf("empty export: status %d, rows %q, err %v", r.status, rows, err)
	}
}

func TestExportStreamsEverything(t *testing.T) {
	env := newExplorerEnv(t)
	// More rows than one export chunk and one flush.
	n := store.ExportChunk + exportFlushEvery + 7
	env.seedExplorer(n)

	r := env.get("/api/events/export/?format=ndjson")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/x-ndjson" ||
		!strings.HasSuffix(r.header.Get("Content-Disposition"), `.ndjson"`) {
		t.Fatalf("status %d, headers %v", r.status, r.header)
	}
	var got []string
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var e event.Stored
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v: %s", len(got)+1, err, sc.Bytes())
		}
		got = append(got, e.EventID)
	}
	if want := expect(n, func(int) bool { return true }); !slices.Equal(got, want) {
		t.Errorf("NDJSON export: %d events, want all %d newest first", len(got), n)
	}

	r = env.get("/api/events/export/?format=csv&user_id=user-0&q=el-0")
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var csvIDs []string
	for _, row := range rows[1:] {
		csvIDs = append(csvIDs, row[1])
	}
	if want := expect(n, func(i int) bool { return i%15 == 0 }); !slices.Equal(csvIDs, want) {
		t.Errorf("filtered CSV export: %q, want %q", csvIDs, want)
	}
}

func TestMessageTimeline(t *testing.T) {
	env := newExplorerEnv(t)
	t0 := explorerBase
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ptr := func(ms int) *time.Time { v := at(ms); return &v }
	msg := func(id string, st event.Status) event.Message {
		return event.Message{EventID: id, EventType: "button_click", UserID: "u", Status: st, Source: event.SourceAPI,
			ConsumerID: "c1", Topic: topic, Partition: 1, Offset: 9, QueuedAt: at(0), FetchedAt: ptr(5)}
	}
	ok := msg("ok", event.StatusCompleted)
	ok.StartedAt, ok.CompletedAt = ptr(110), ptr(111)
	ok.Retries = 1
	ok.Attempts = []event.Attempt{{N: 1, StartedAt: at(6), EndedAt: at(7), Error: "boom", NextRetryAt: ptr(100)}}
	dead := msg("dead", event.StatusDeadLettered)
	dead.StartedAt, dead.CompletedAt, dead.Error, dead.Retries = ptr(100), ptr(130), "boom", 1
	dead.Attempts = []event.Attempt{
		// Two members' attempts: the first crashed, the second resumed.
		{N: 1, StartedAt: at(6), EndedAt: at(7), Error: "boom", ConsumerID: "c1", NextRetryAt: ptr(100)},
		{N: 2, StartedAt: at(100), EndedAt: at(101), Error: "boom", ConsumerID: "c2"},
	}
	if _, err := env.db.Write(context.Background(), []store.Record{
		{Event: &event.Event{EventID: "ok", UserID: "u", EventType: "button_click", Timestamp: t0}, Message: ok},
		{Message: dead},
	}); err != nil {
		t.Fatal(err)
	}
	// In flight: waiting for its second attempt, known only to the stats.
	retrying := msg("retrying", event.StatusRetrying)
	retrying.StartedAt, retrying.NextRetryAt, retrying.Retries = ptr(6), ptr(100), 1
	retrying.Attempts = []event.Attempt{{N: 1, StartedAt: at(6), EndedAt: at(7), Error: "boom", NextRetryAt: ptr(100)}}
	env.stats.Apply(event.Change{Messages: []event.Message{retrying}})

	type stage struct {
		Stage  string    `json:"stage"`
		At     time.Time `json:"at"`
		Detail string    `json:"detail"`
	}
	timeline := func(id string) (event.Message, *event.Stored, []stage) {
		t.Helper()
		r := env.get("/api/messages/" + id + "/")
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", id, r.status, r.body)
		}
		var body struct {
			Message event.Message `json:"message"`
			Event   *event.Stored `json:"event"`
			Stages  []stage       `json:"stages"`
		}
		r.json(t, &body)
		return body.Message, body.Event, body.Stages
	}
	names := func(ss []stage) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = s.Stage
		}
		return out
	}

	m, e, ss := timeline("ok")
	if m.Status != event.StatusCompleted || e == nil || e.EventID != "ok" || m.StoredAt == nil {
		t.Errorf("ok: message %+v, event %+v", m, e)
	}
	want := []string{StageProduced, StageFetched, StageStarted, StageAttemptFailed, StageRetryScheduled, StageStored, StageBroadcast}
	if !slices.Equal(names(ss), want) {
		t.Fatalf("ok stages %q, want %q", names(ss), want)
	}
	for i, w := range []time.Time{at(0), at(5), at(6), at(7), at(100), *m.StoredAt, *m.StoredAt} {
		if !ss[i].At.Equal(w) {
			t.Errorf("ok stage %s at %s, want %s", ss[i].Stage, ss[i].At, w)
		}
	}
	if !strings.Contains(ss[0].Detail, "partition 1 offset 9") || ss[3].Detail != "attempt 1: boom" {
		t.Errorf("ok details %q, %q", ss[0].Detail, ss[3].Detail)
	}

	m, e, ss = timeline("dead")
	want = []string{StageProduced, StageFetched, StageStarted, StageAttemptFailed, StageRetryScheduled,
		StageAttemptFailed, StageDeadLettered, StageBroadcast}
	if m.Status != event.StatusDeadLettered || e != nil || !slices.Equal(names(ss), want) {
		t.Errorf("dead: status %s, event %v, stages %q; want %q", m.Status, e, names(ss), want)
	} else if !ss[6].At.Equal(at(130)) || ss[6].Detail != "boom" {
		t.Errorf("dead_lettered stage %+v", ss[6])
	} else if ss[3].Detail != "attempt 1 by c1: boom" || ss[5].Detail != "attempt 2 by c2: boom" || m.Attempts[1].ConsumerID != "c2" {
		t.Errorf("dead: attempts %q, %q, want each naming its member", ss[3].Detail, ss[5].Detail)
	}

	m, e, ss = timeline("retrying")
	want = []string{StageProduced, StageFetched, StageStarted, StageAttemptFailed, StageRetryScheduled}
	if m.Status != event.StatusRetrying || e != nil || !slices.Equal(names(ss), want) {
		t.Errorf("in flight: status %s, event %v, stages %q; want %q", m.Status, e, names(ss), want)
	}

	// Its owner crashed and no member took it up yet: the retry log
	// still shows its attempts and when the next is due.
	orphan := store.Retry{Topic: topic, Partition: 1, Offset: 12, EventID: "orphan", Retries: 1, NextRetryAt: at(300),
		ConsumerID: "c1", QueuedAt: at(0), EventType: "button_click",
		Attempts: []event.Attempt{{N: 1, StartedAt: at(6), EndedAt: at(7), Error: "boom", ConsumerID: "c1", NextRetryAt: ptr(300)}}}
	if err := env.db.SaveRetries(context.Background(), []store.Retry{orphan}); err != nil {
		t.Fatal(err)
	}
	m, e, ss = timeline("orphan")
	want = []string{StageProduced, StageStarted, StageAttemptFailed, StageRetryScheduled}
	if m.Status != event.StatusRetrying || e != nil || !slices.Equal(names(ss), want) || ss[2].Detail != "attempt 1 by c1: boom" || !ss[3].At.Equal(at(300)) {
		t.Errorf("retry no member holds: status %s, stages %+v; want %q", m.Status, ss, want)
	}

	for _, path := range []string{"/api/messages/unknown/", "/api/messages/unknown"} {
		if r := env.get(path); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404: %s", path, r.status, r.body)
		}
	}
}

// A store that fails before the first row gets a JSON error, not an
// empty file with a 200.
func TestExplorerStoreErrors(t *testing.T) {
	env := newExplorerEnv(t)
	env.seedExplorer(3)
	if err := env.db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/events/", "/api/events/export/?format=ndjson", "/api/events/export/", "/api/messages/x0001/"} {
		r := env.get(path)
		if r.status != http.StatusInternalServerError || r.header.Get("Content-Disposition") != "" {
			t.Errorf("%s on a closed store: status %d, headers %v", path, r.status, r.header)
			continue
		}
		r.errorText(t)
	}
}
