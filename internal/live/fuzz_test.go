package live

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// fuzzHub is one hub on a real SQLite store behind a test HTTP server,
// shared by every input of a fuzz run.
type fuzzHub struct {
	url string
}

func newFuzzHub(f *testing.F) *fuzzHub {
	f.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	bus := NewBus(nil, nil)
	stats := NewStats(store.Totals{EventTypes: map[string]int64{}}, nil)
	hub := NewHub(HubConfig{}, bus, stats, db, nil, prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	srv := httptest.NewServer(hub)
	f.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.Errorf("hub Run: %v", err)
		}
		srv.Close()
	})
	return &fuzzHub{url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/events/"}
}

// askStats sends get_stats on c and waits for the stats_update answer,
// skipping other frames.
func askStats(ctx context.Context, c *websocket.Conn) error {
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"get_stats"}`)); err != nil {
		return err
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return err
		}
		var f struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &f) == nil && f.Type == "stats_update" {
			return nil
		}
	}
}

// FuzzClientMessage sends arbitrary client messages to the hub over a
// real WebSocket. The hub must ignore what it does not understand: the
// same connection still answers get_stats, and a message over the read
// limit ends only that connection while new clients are served.
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"get_stats"}`,
		`{"type":"unknown"}`,
		`{"type":null}`,
		`{"type":["get_stats"]}`,
		`{"type":"get_stats","extra":{"a":[1,2,{"b":null}]}}`,
		`not json`,
		``,
		`{}`,
		`[]`,
		`"get_stats"`,
		"{\"type\":\"get_stats\u0000\"}",
		`{"type":"` + strings.Repeat("x", 5000) + `"}`,
		strings.Repeat(`{"type":`, 500),
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte{0xff, 0xfe, 0x00}, true)
	h := newFuzzHub(f)
	f.Fuzz(func(t *testing.T, msg []byte, binary bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, h.url, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.CloseNow()
		c.SetReadLimit(64 << 20)
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		if len(msg) <= clientReadLimit {
			if err := askStats(ctx, c); err != nil {
				t.Fatalf("after %q the connection no longer answers get_stats: %v", trimFuzz(msg), err)
			}
			return
		}
		// Over the limit: this connection may be closed, but the hub
		// must go on serving others.
		c2, _, err := websocket.Dial(ctx, h.url, nil)
		if err != nil {
			t.Fatalf("dial after an oversized message: %v", err)
		}
		defer c2.CloseNow()
		c2.SetReadLimit(64 << 20)
		if err := askStats(ctx, c2); err != nil {
			t.Fatalf("a new client after an oversized message: %v", err)
		}
	})
}

func trimFuzz(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
