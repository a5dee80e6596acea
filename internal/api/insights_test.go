package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/store"
)

// A trend over the API: the events of a range per hour, split by page,
// with the previous period; and every bad parameter a 400 that names it.
func TestTrendOverTheAPI(t *testing.T) {
	deps, reg := opsBackend(t)
	db := deps.Series.(store.Store)
	at := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	var batch []store.Record
	for i, c := range []struct {
		page string
		ts   time.Time
	}{
		{"/", at}, {"/", at.Add(time.Minute)}, {"/cart", at.Add(time.Hour)}, {"/", at.Add(-2 * time.Hour)},
	} {
		id := fmt.Sprintf("trend-%d", i)
		batch = append(batch, store.Record{
			Event:   &event.Event{EventID: id, UserID: "u", EventType: event.TypePageView, Page: c.page, Timestamp: c.ts},
			Message: event.Message{EventID: id, EventType: event.TypePageView, Status: event.StatusCompleted, Source: event.SourceAPI, QueuedAt: c.ts},
		})
	}
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Loopback: true}, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)

	q := url.Values{"event_type": {"page_view"}, "from": {"2026-12-01T10:00:00Z"}, "to": {"2026-12-01T11:59:59Z"},
		"interval": {"hour"}, "breakdown": {"page"}, "compare": {"previous"}}
	code, raw := send(t, "GET", srv.URL+"/api/insights/trend/?"+q.Encode(), "", "", "")
	if code != http.StatusOK {
		t.Fatalf("trend: %d %s", code, raw)
	}
	var tr insights.Trend
	if err := json.Unmarshal([]byte(raw), &tr); err != nil {
		t.Fatal(err)
	}
	got := map[string][]int64{}
	for _, s := range tr.Current.Series {
		got[s.Key] = s.Counts
	}
	if len(tr.Current.Buckets) != 2 || fmt.Sprint(got) != fmt.Sprint(map[string][]int64{"/": {2, 0}, "/cart": {0, 1}}) ||
		tr.Previous == nil || tr.Previous.Total != 1 || tr.Measure != "count" {
		t.Fatalf("trend = %s", raw)
	}

	for query, want := range map[string]string{
		"range=2d":                               "range: must be 30m, 1h, 24h, 7d or 30d",
		"range=24h&from=2026-12-01T00:00:00Z":    "range: give a range or from and to",
		"from=2026-12-01T00:00:00Z":              "to: required with from",
		"from=yesterday&to=2026-12-01T00:00:00Z": "from: must be an RFC 3339 time",
		"interval=fortnight":                     "interval must be minute, hour, day or week",
		"breakdown=user_id":                      "breakdown must be one of",
		"limit=0":                                "limit: must be a whole number from 1 to 50",
		"compare=last_year":                      "compare: must be previous",
		"range=30d&interval=minute":              "buckets of a minute in this range",
		"event_type=" + strings.Repeat("x", 65):  "event_type: longer than 64 bytes",
	} {
		code, raw := send(t, "GET", srv.URL+"/api/insights/trend/?"+query, "", "", "")
		if code != http.StatusBadRequest || !strings.Contains(raw, want) {
			t.Errorf("trend?%s: %d %s, want 400 with %q", query, code, raw, want)
		}
	}
}
