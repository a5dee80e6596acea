package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/live"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// logBuffer collects a server's log lines; handlers log from their own
// goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// storeUnencodable writes an event and its message whose times JSON cannot
// write (the year 10000) straight into the store, past every check at the
// door, as Pulse stored them from Kafka before timestamps were bounded.
func storeUnencodable(t *testing.T, db *sqlite.DB, id, user string) {
	t.Helper()
	bad := time.Date(10000, 1, 1, 23, 58, 59, 0, time.UTC)
	ev := &event.Event{EventID: id, UserID: user, EventType: event.TypePageView, Timestamp: bad}
	m := event.Message{EventID: id, EventType: ev.EventType, UserID: user, Status: event.StatusCompleted,
		Source: event.SourceKafka, Topic: topic, QueuedAt: bad}
	if _, err := db.Write(context.Background(), []store.Record{{Event: ev, Message: m}}); err != nil {
		t.Fatal(err)
	}
}

// TestUnencodableRowBreaksNoReadSilently: an event stored with a time
// past the year 9999 made /api/events/latest/ and the explorer answer 200
// with an empty body, the NDJSON export end cleanly at that row, and new
// WebSocket clients get no initial_data. Every JSON read now answers a
// logged 500, an export that already sent rows aborts, and initial_data
// leaves the row out.
func TestUnencodableRowBreaksNoReadSilently(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// The oldest row is bad and belongs to user-0, so an export of user-0
	// sends a full chunk before reaching it; the newest is bad too, first
	// in every read.
	storeUnencodable(t, db, "bad-old", "user-0")
	env := &explorerEnv{t: t, db: db}
	n := 3*exportFlushEvery + 100
	env.seedExplorer(n)
	storeUnencodable(t, db, "bad-new", "intruder")

	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	stats := live.NewStats(store.Totals{}, nil)
	bus := live.NewBus(nil, reg)
	hub := live.NewHub(live.HubConfig{}, bus, stats, db, log, reg)
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		_ = hub.Run(hubCtx)
	}()
	t.Cleanup(func() { stopHub(); <-hubDone })
	srv := httptest.NewServer(New(Config{Loopback: true}, Deps{Store: db, Stats: stats, Explorer: db, Hub: hub}, log, reg).Handler())
	t.Cleanup(srv.Close)
	env.srv = srv

	for _, path := range []string{
		"/api/events/latest/",
		"/api/events/?limit=1000",
		"/api/queue/messages/",
		"/api/messages/bad-new/",
		"/api/events/export/?format=ndjson&user_id=intruder",
	} {
		r := env.get(path)
		if r.status != http.StatusInternalServerError || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") ||
			r.header.Get("Content-Disposition") != "" {
			t.Errorf("%s: status %d, headers %v, body %q; want a JSON 500", path, r.status, r.header, r.body)
			continue
		}
		if msg := r.errorText(t); msg != "internal error" {
			t.Errorf("%s: error %q", path, msg)
		}
	}
	if got := strings.Count(logs.String(), "year outside of range"); got < 5 {
		t.Errorf("%d log lines name the encoding failure, want one a request:\n%s", got, logs.String())
	}

	// An export that has sent its status cannot answer 500: it breaks
	// the transfer instead of ending it as if the file were whole.
	resp, err := srv.Client().Get(srv.URL + "/api/events/export/?format=ndjson&user_id=user-0")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err == nil {
		t.Fatalf("export past a bad row: status %d, read error %v after %d bytes; want a broken transfer", resp.StatusCode, err, len(body))
	}
	if lines := bytes.Count(body, []byte("\n")); lines < exportFlushEvery {
		t.Errorf("export sent %d rows before breaking, want the %d before the bad one", lines, exportFlushEvery)
	}
	if !strings.Contains(logs.String(), "export aborted") {
		t.Errorf("the aborted export is not logged:\n%s", logs.String())
	}

	// A new dashboard still gets initial_data, without the bad row.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/events/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	_, data, err := c.Read(wctx)
	if err != nil {
		t.Fatal(err)
	}
	var init struct {
		Type     string          `json:"type"`
		Events   []event.Stored  `json:"events"`
		Messages []event.Message `json:"messages"`
	}
	if err := json.Unmarshal(data, &init); err != nil {
		t.Fatalf("initial_data %q: %v", data, err)
	}
	if init.Type != "initial_data" || len(init.Events) != 49 || init.Events[0].EventID != fmt.Sprintf("x%04d", n-1) || len(init.Messages) != 49 {
		t.Fatalf("initial_data: type %q, %d events from %v, %d messages; want the 49 good of the 50 newest",
			init.Type, len(init.Events), ids(init.Events[:min(1, len(init.Events))]), len(init.Messages))
	}
	if !strings.Contains(logs.String(), `event_id=bad-new`) {
		t.Errorf("the row left out is not named in the log:\n%s", logs.String())
	}

	// Live frames leave out only what they cannot encode: a batch of 25
	// (sent as new_events) and its messages, one of each bad.
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	var change event.Change
	for i := range 25 {
		e := event.Stored{ID: int64(10000 + i), Event: event.Event{EventID: fmt.Sprintf("live-%d", i), UserID: "u",
			EventType: event.TypePageView, Timestamp: time.Now()}}
		m := event.Message{EventID: e.EventID, EventType: e.EventType, UserID: "u", Status: event.StatusProcessing, QueuedAt: time.Now()}
		if i == 7 {
			e.Timestamp, m.QueuedAt = bad, bad
		}
		change.Events = append(change.Events, e)
		change.Messages = append(change.Messages, m)
	}
	bus.Publish(change)
	var gotEvents, gotMessages int
	for gotEvents == 0 || gotMessages == 0 {
		_, data, err := c.Read(wctx)
		if err != nil {
			t.Fatalf("waiting for new_events and queue_update: %v", err)
		}
		var f struct {
			Type     string          `json:"type"`
			Events   []event.Stored  `json:"events"`
			Messages []event.Message `json:"messages"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		switch f.Type {
		case "new_events":
			gotEvents = len(f.Events)
		case "queue_update":
			gotMessages = len(f.Messages)
		}
	}
	if gotEvents != 24 || gotMessages != 24 {
		t.Errorf("live frames carry %d events and %d messages, want the 24 good of each", gotEvents, gotMessages)
	}
}
