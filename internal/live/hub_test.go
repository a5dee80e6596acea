package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// openStore opens a real SQLite store in a temporary directory, holding
// a completed record for each of ids, oldest first.
func openStore(t *testing.T, ids ...string) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	for i, id := range ids {
		e := event.Event{EventID: id, UserID: "u", EventType: "page_view", Timestamp: time.Now()}
		m := msg(id, event.StatusCompleted, 5)
		m.Offset = int64(i)
		m.QueuedAt = time.Now()
		if _, err := db.Write(ctx, []store.Record{{Event: &e, Message: m}}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

type hubEnv struct {
	bus   *Bus
	stats *Stats
	hub   *Hub
	srv   *httptest.Server
	url   string
	stop  func()
}

func startHub(t *testing.T, cfg HubConfig, r Reader) *hubEnv {
	t.Helper()
	bus := NewBus(nil, nil)
	stats := NewStats(store.Totals{Events: 7, EventTypes: map[string]int64{"page_view": 7}}, nil)
	// As in the server: the statistics follow the bus, the hub follows them.
	follow := NewFollower(bus, stats, nil, nil)
	hub := NewHub(cfg, follow, stats, r, nil, prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- follow.Run(ctx) }()
	go func() { done <- hub.Run(ctx) }()
	srv := httptest.NewServer(hub)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			for range 2 {
				if err := <-done; err != nil {
					t.Errorf("Run: %v", err)
				}
			}
			srv.Close()
		})
	}
	t.Cleanup(stop)
	return &hubEnv{bus: bus, stats: stats, hub: hub, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/events/", stop: stop}
}

func dial(t *testing.T, url string, header http.Header) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// wsFrame is any server message, decoded loosely for assertions.
type wsFrame struct {
	Type     string          `json:"type"`
	Events   []event.Stored  `json:"events"`
	Event    *event.Stored   `json:"event"`
	Dropped  int             `json:"dropped"`
	Stats    *StatsJSON      `json:"stats"`
	Messages []event.Message `json:"messages"`
}

func readFrame(t *testing.T, c *websocket.Conn) wsFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var f wsFrame
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return f
}

// readUntil reads frames until one of type typ arrives.
func readUntil(t *testing.T, c *websocket.Conn, typ string) wsFrame {
	t.Helper()
	for {
		if f := readFrame(t, c); f.Type == typ {
			return f
		}
	}
}

func TestHubInitialDataThenNewEvent(t *testing.T) {
	env := startHub(t, HubConfig{}, openStore(t, "old1", "old2"))
	env.stats.Apply(event.Change{Messages: []event.Message{msg("flying", event.StatusProcessing, 0)}})
	c := dial(t, env.url, nil)

	f := readFrame(t, c)
	if f.Type != "initial_data" || len(f.Events) != 2 || f.Events[0].EventID != "old2" {
		t.Fatalf("initial_data: %+v", f)
	}
	if f.Stats == nil || f.Stats.TotalEvents != 7 {
		t.Fatalf("initial stats: %+v", f.Stats)
	}
	if len(f.Messages) != 3 || f.Messages[0].EventID != "flying" || f.Messages[1].EventID != "old2" || f.Messages[2].EventID != "old1" {
		t.Fatalf("initial messages (in flight first): %+v", f.Messages)
	}

	env.bus.Publish(event.Change{
		Events:   []event.Stored{stored("new1", "button_click", "btn_1")},
		Messages: []event.Message{msg("new1", event.StatusCompleted, 12)},
	})
	got := readUntil(t, c, "new_event")
	if got.Event == nil || got.Event.EventID != "new1" || got.Event.ElementID != "btn_1" {
		t.Fatalf("new_event: %+v", got)
	}
	q := readUntil(t, c, "queue_update")
	if len(q.Messages) != 1 || q.Messages[0].Status != event.StatusCompleted {
		t.Fatalf("queue_update: %+v", q)
	}
	s := readUntil(t, c, "stats_update")
	if s.Stats.TotalEvents != 8 || s.Stats.Queue.Completed != 1 || s.Stats.TopElements[0].ElementID != "btn_1" {
		t.Fatalf("stats_update: %+v", s.Stats)
	}
}

func TestHubBatchesManyEvents(t *testing.T) {
	env := startHub(t, HubConfig{FlushInterval: 200 * time.Millisecond}, openStore(t))
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")

	// 500 events in one change land in one flush.
	var ch event.Change
	for i := 0; i < 500; i++ {
		ch.Events = append(ch.Events, stored(fmt.Sprintf("e%03d", i), "page_view", ""))
	}
	env.bus.Publish(ch)
	f := readUntil(t, c, "new_events")
	if len(f.Events) != maxBatchEvents || f.Dropped != 500-maxBatchEvents {
		t.Fatalf("new_events: %d events, dropped %d", len(f.Events), f.Dropped)
	}
	if first, last := f.Events[0].EventID, f.Events[maxBatchEvents-1].EventID; first != fmt.Sprintf("e%03d", 500-maxBatchEvents) || last != "e499" {
		t.Fatalf("not the newest %d: first %s last %s", maxBatchEvents, first, last)
	}
}

// TestHubSpacesFlushesWhileSampling: once a flush had to leave events
// out, flushes wait BusyFlushInterval while changes keep coming; when they
// pause for half of it, what is pending goes out without waiting for the
// rest of the long interval.
func TestHubSpacesFlushesWhileSampling(t *testing.T) {
	const busy, trickle = 4 * time.Second, time.Second
	env := startHub(t, HubConfig{FlushInterval: 100 * time.Millisecond, BusyFlushInterval: busy}, openStore(t))
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")

	var ch event.Change
	for i := range maxBatchEvents + 50 {
		ch.Events = append(ch.Events, stored(fmt.Sprintf("b%03d", i), "page_view", ""))
	}
	env.bus.Publish(ch)
	if f := readUntil(t, c, "new_events"); f.Dropped != 50 {
		t.Fatalf("first flush dropped %d, want 50", f.Dropped)
	}
	sampledAt := time.Now()
	// Frames are stamped as they arrive, by a reader running beside the
	// trickle, so that a flush sent during the trickle is seen when it
	// came and not after the trickle has ended.
	type arrival struct {
		f  wsFrame
		at time.Time
	}
	arrivals := make(chan arrival, 64)
	go func() {
		defer close(arrivals)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*busy)
			_, data, err := c.Read(ctx)
			cancel()
			if err != nil {
				return
			}
			var f wsFrame
			if json.Unmarshal(data, &f) != nil {
				continue
			}
			arrivals <- arrival{f, time.Now()}
		}
	}()
	// A steady trickle, one change every 10 ms (far under the 2 s pause)
	// for a second: nothing may go out while it lasts.
	tick := time.NewTicker(10 * time.Millisecond)
	for i := 0; time.Since(sampledAt) < trickle; i++ {
		<-tick.C
		env.bus.Publish(event.Change{Events: []event.Stored{stored(fmt.Sprintf("t%03d", i), "page_view", "")}})
	}
	tick.Stop()
	trickleEnd := time.Now()
	// The trickle stopped: its events go out once changes pause, not
	// before it ended and not as late as the busy interval.
	for a := range arrivals {
		if a.f.Type != "new_events" {
			continue
		}
		if a.at.Before(trickleEnd) {
			t.Fatalf("a flush of %d events went out %v after the sampled one, while the trickle (%v) still ran", len(a.f.Events), a.at.Sub(sampledAt), trickle)
		}
		if gap := a.at.Sub(sampledAt); gap >= busy {
			t.Fatalf("the trickle's flush came %v after the sampled one; want before the busy interval (%v)", gap, busy)
		}
		if len(a.f.Events) == 0 {
			t.Fatal("the trickle's flush carried no events")
		}
		return
	}
	t.Fatal("no flush after the trickle")
}

// TestHubKeepsUpdatesOfShownMessages: a message clients saw retrying gets
// its final state even in a flush that samples hundreds of others out.
func TestHubKeepsUpdatesOfShownMessages(t *testing.T) {
	env := startHub(t, HubConfig{FlushInterval: 10 * time.Millisecond, BusyFlushInterval: 10 * time.Millisecond}, openStore(t))
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")

	env.bus.Publish(event.Change{Messages: []event.Message{msg("flaky", event.StatusRetrying, 0)}})
	if q := readUntil(t, c, "queue_update"); len(q.Messages) != 1 || q.Messages[0].Status != event.StatusRetrying {
		t.Fatalf("retrying update: %+v", q.Messages)
	}
	var ch event.Change
	ch.Messages = append(ch.Messages, msg("flaky", event.StatusDeadLettered, 0))
	for i := range 3 * maxQueueMessages {
		ch.Messages = append(ch.Messages, msg(fmt.Sprintf("m%04d", i), event.StatusCompleted, 1))
	}
	env.bus.Publish(ch)
	q := readUntil(t, c, "queue_update")
	if len(q.Messages) != maxQueueMessages {
		t.Fatalf("queue_update carried %d messages, want %d", len(q.Messages), maxQueueMessages)
	}
	if q.Messages[0].EventID != "flaky" || q.Messages[0].Status != event.StatusDeadLettered {
		t.Fatalf("the shown message's final state was sampled out: first is %s %s", q.Messages[0].EventID, q.Messages[0].Status)
	}
	if last := q.Messages[maxQueueMessages-1].EventID; last != fmt.Sprintf("m%04d", 3*maxQueueMessages-1) {
		t.Fatalf("newest message missing: last is %s", last)
	}
}

func TestHubGetStatsAndMalformedMessages(t *testing.T) {
	env := startHub(t, HubConfig{}, openStore(t))
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, m := range []string{`not json`, `{"type":42}`, `{"type":"subscribe"}`, `[]`} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Write(ctx, websocket.MessageBinary, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"get_stats"}`)); err != nil {
		t.Fatal(err)
	}
	f := readUntil(t, c, "stats_update")
	if f.Stats == nil || f.Stats.TotalEvents != 7 || f.Stats.EventTypes["page_view"] != 7 {
		t.Fatalf("stats_update: %+v", f.Stats)
	}
}

func TestHubOrigins(t *testing.T) {
	env := startHub(t, HubConfig{AllowedOrigins: []string{"dash.example.com", "https://*.corp.example"}}, openStore(t))
	for _, origin := range []string{"http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8080", "https://dash.example.com", "https://a.corp.example"} {
		c := dial(t, env.url, http.Header{"Origin": {origin}})
		if f := readFrame(t, c); f.Type != "initial_data" {
			t.Fatalf("%s: got %s", origin, f.Type)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
	}
	for _, origin := range []string{"http://evil.example", "http://a.corp.example", "https://localhost.evil.example"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, resp, err := websocket.Dial(ctx, env.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		cancel()
		if err == nil {
			t.Fatalf("%s: connected", origin)
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: response %v, want 403", origin, resp)
		}
	}
}

func TestHubSlowClientDoesNotBlockOthers(t *testing.T) {
	env := startHub(t, HubConfig{SendQueue: 2, WriteTimeout: time.Second, FlushInterval: 20 * time.Millisecond}, openStore(t))
	dial(t, env.url, nil) // never reads
	fast := dial(t, env.url, nil)
	readUntil(t, fast, "initial_data")

	// The fast client reads everything in the background.
	var seen atomic.Value
	seen.Store("")
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			_, data, err := fast.Read(context.Background())
			if err != nil {
				return
			}
			var f wsFrame
			if json.Unmarshal(data, &f) != nil {
				continue
			}
			if n := len(f.Events); n > 0 {
				seen.Store(f.Events[n-1].EventID)
			}
			if f.Event != nil {
				seen.Store(f.Event.EventID)
			}
		}
	}()

	props := json.RawMessage(`{"pad":"` + strings.Repeat("x", 4000) + `"}`)
	deadline := time.Now().Add(30 * time.Second)
	slow := func() float64 {
		return value(t, env.hub.resyncs) + value(t, env.hub.disconnects.WithLabelValues(stopSlow)) + value(t, env.hub.disconnects.WithLabelValues(stopWrite))
	}
	for i := 0; slow() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the stuck client was never resynced nor dropped")
		}
		var ch event.Change
		for j := 0; j < 250; j++ {
			e := stored(fmt.Sprintf("bulk-%d-%d", i, j), "page_view", "")
			e.Properties = props
			ch.Events = append(ch.Events, e)
		}
		env.bus.Publish(ch)
		// Pace the publisher by the fast client, so only the stuck one
		// falls behind.
		last := ch.Events[len(ch.Events)-1].EventID
		for seen.Load() != last {
			if time.Now().After(deadline) {
				t.Fatalf("fast client stalled waiting for %s (seen %v): drops %v resyncs %v sent %v clients %d", last, seen.Load(), value(t, env.hub.framesDrop), value(t, env.hub.resyncs), value(t, env.hub.framesSent.WithLabelValues("new_events")), env.hub.Clients())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The fast client still gets new events promptly.
	env.bus.Publish(change("marker"))
	for seen.Load() != "marker" {
		if time.Now().After(deadline) {
			t.Fatal("fast client did not get the marker")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if value(t, env.hub.framesDrop) == 0 {
		t.Fatal("no frames were dropped for the stuck client")
	}
	env.stop()
	<-readerDone
}

func TestHubShutdownClosesGoingAway(t *testing.T) {
	env := startHub(t, HubConfig{}, openStore(t))
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")
	if n := env.hub.Clients(); n != 1 {
		t.Fatalf("clients = %d", n)
	}
	go env.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		if s := websocket.CloseStatus(err); s != websocket.StatusGoingAway {
			t.Fatalf("close status %v (%v), want 1001", s, err)
		}
		break
	}
}

func TestHubResyncsThenDropsLaggingClient(t *testing.T) {
	env := startHub(t, HubConfig{SendQueue: 1, WriteTimeout: 20 * time.Second, ResyncCooldown: time.Minute, FlushInterval: 20 * time.Millisecond}, openStore(t))
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")

	props := json.RawMessage(`{"pad":"` + strings.Repeat("x", 4000) + `"}`)
	// flood publishes while the client is not reading, until the hub had
	// to drop a frame for it.
	flood := func() {
		t.Helper()
		start := value(t, env.hub.framesDrop)
		deadline := time.Now().Add(15 * time.Second)
		for i := 0; value(t, env.hub.framesDrop) == start; i++ {
			if time.Now().After(deadline) {
				t.Fatal("no frame was dropped")
			}
			var ch event.Change
			for j := 0; j < 200; j++ {
				e := stored(fmt.Sprintf("f-%d-%d", i, j), "page_view", "")
				e.Properties = props
				ch.Events = append(ch.Events, e)
			}
			env.bus.Publish(ch)
			time.Sleep(10 * time.Millisecond)
		}
	}
	flood()
	// Reading again, the client gets a fresh initial_data.
	readUntil(t, c, "initial_data")
	if n := value(t, env.hub.resyncs); n != 1 {
		t.Fatalf("resyncs = %v, want 1", n)
	}
	// Falling behind again within the cooldown ends the connection.
	flood()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
			t.Fatalf("close status %v (%v), want 1008", s, err)
		}
		break
	}
	// The hub counts the disconnect once its side of the close is done.
	for value(t, env.hub.disconnects.WithLabelValues(stopSlow)) != 1 {
		if ctx.Err() != nil {
			t.Fatal("slow disconnect not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHubForwardsMarkers(t *testing.T) {
	env := startHub(t, HubConfig{}, openStore(t))
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")

	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	env.bus.Publish(event.Change{Markers: []event.Marker{
		{T: at, Kind: event.MarkerDLQBurst, Detail: "12 records dead-lettered within 5s"},
		{T: at.Add(time.Second), Kind: event.MarkerRebalance, Detail: "reassigned"},
	}})
	var got []event.Marker
	for len(got) < 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, data, err := c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var f struct {
			Type   string        `json:"type"`
			Marker *event.Marker `json:"marker"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("decode %s: %v", data, err)
		}
		if f.Type != "marker" {
			continue
		}
		if f.Marker == nil {
			t.Fatalf("marker frame without a marker: %s", data)
		}
		got = append(got, *f.Marker)
	}
	if got[0].Kind != event.MarkerDLQBurst || !got[0].T.Equal(at) || got[0].Detail == "" || got[1].Kind != event.MarkerRebalance {
		t.Fatalf("markers: %+v", got)
	}
	// A marker changes no statistic.
	if s := env.stats.Snapshot(); s.TotalEvents != 7 || s.Queue.Total != 0 {
		t.Fatalf("stats after markers: %+v", s)
	}
}

// TestHubStatsCountEverySentEvent: statistics a client asks for after an
// event reached it count that event, however fast changes come: the hub
// is fed by the statistics' Follower, which applies a change before it
// passes it on. The race this rules out is narrow (the hub holds a change
// for a flush interval), so this is the end-to-end check;
// TestFollowerAppliesBeforePassingOn is the one that catches a reorder.
func TestHubStatsCountEverySentEvent(t *testing.T) {
	env := startHub(t, HubConfig{FlushInterval: time.Millisecond, BusyFlushInterval: time.Millisecond}, openStore(t))
	c := dial(t, env.url, nil)
	readUntil(t, c, "initial_data")
	const n = 200
	go func() {
		for i := range n {
			env.bus.Publish(change(fmt.Sprintf("c%03d", i)))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// seen is the highest event number a frame has carried; each answer
	// to get_stats must count the 7 seeded events and at least seen+1.
	seen, asked := -1, false
	for seen < n-1 || asked {
		if !asked {
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"get_stats"}`)); err != nil {
				t.Fatal(err)
			}
			asked = true
		}
		f := readFrame(t, c)
		for _, e := range append(f.Events, func() []event.Stored {
			if f.Event != nil {
				return []event.Stored{*f.Event}
			}
			return nil
		}()...) {
			var i int
			if _, err := fmt.Sscanf(e.EventID, "c%03d", &i); err == nil && i > seen {
				seen = i
			}
		}
		if f.Type == "stats_update" {
			if want := int64(7 + seen + 1); f.Stats.TotalEvents < want {
				t.Fatalf("stats_update counts %d events after event c%03d was sent; want at least %d", f.Stats.TotalEvents, seen, want)
			}
			asked = false
		}
	}
}
