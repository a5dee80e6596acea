package live

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// TestStatsUpdatesFollowTheRatesDown: stats_update frames were sent only
// when the counts changed, so once traffic stopped a client kept the last
// events/s and last-5-minutes figures for good (379 events/s on a page
// while the server's own answer said 0).
func TestStatsUpdatesFollowTheRatesDown(t *testing.T) {
	clk := newClock()
	bus := NewBus(nil, nil)
	stats := NewStats(store.Totals{}, clk.now)
	follow := NewFollower(bus, stats, nil, nil)
	hub := NewHub(HubConfig{StatsInterval: 20 * time.Millisecond}, follow, stats, openStore(t), nil, prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- follow.Run(ctx) }()
	go func() { done <- hub.Run(ctx) }()
	srv := httptest.NewServer(hub)
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		srv.Close()
	})
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/events/", nil)
	readUntil(t, c, "initial_data")

	for i := range 10 {
		bus.Publish(event.Change{Events: []event.Stored{stored("e"+string(rune('a'+i)), "page_view", "")}})
	}
	// statsFrom reads stats_update frames until one shows what is
	// wanted (readFrame fails the test after 10 s without a frame).
	statsFrom := func(what string, ok func(StatsJSON) bool) {
		t.Helper()
		for {
			f := readUntil(t, c, "stats_update")
			if f.Stats != nil && ok(*f.Stats) {
				t.Logf("stats_update: %s", what)
				return
			}
		}
	}
	statsFrom("the ten events counted", func(s StatsJSON) bool { return s.TotalEvents == 10 && s.Recent5Min == 10 })
	clk.add(time.Second) // their second is complete: 10 in the last ten seconds
	statsFrom("1 event/s", func(s StatsJSON) bool { return s.EventsPerSecond == 1 })
	clk.add(10 * time.Second)
	statsFrom("no events in the last ten seconds", func(s StatsJSON) bool { return s.EventsPerSecond == 0 && s.Recent5Min == 10 })
	clk.add(5 * time.Minute)
	statsFrom("none in the last five minutes", func(s StatsJSON) bool { return s.EventsPerSecond == 0 && s.Recent5Min == 0 && s.TotalEvents == 10 })
}
