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
		"measure=revenue":                        "measure must be count, users or sessions",
		"filter=plan":                            "as properties.plan:equals:pro",
		"filter=properties.plan:like:pro":        "op must be equals, not_equals, contains, in or is_set",
		"filter=user_agent:equals:x":             "unknown field",
		"filter=page:is_set:x":                   "is_set takes no value",
		"breakdown=properties.a.b":               "breakdown by a.b: property key",
	} {
		code, raw := send(t, "GET", srv.URL+"/api/insights/trend/?"+query, "", "", "")
		if code != http.StatusBadRequest || !strings.Contains(raw, want) {
			t.Errorf("trend?%s: %d %s, want 400 with %q", query, code, raw, want)
		}
	}
}

// Unique users of a trend, filtered and split by a property, over the
// API: the query string's filter and measure reach the service.
func TestTrendOfUsersOverTheAPI(t *testing.T) {
	deps, reg := opsBackend(t)
	db := deps.Series.(store.Store)
	at := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	var batch []store.Record
	for i, c := range []struct{ user, plan, country string }{
		{"ann", "pro", "FR"}, {"ann", "pro", "FR"}, {"bob", "pro", "DE"}, {"cy", "free", "FR"}, {"dan", "pro:annual", "FR"}, {"eve", `a,b\`, "FR"},
	} {
		id := fmt.Sprintf("users-%d", i)
		props := fmt.Sprintf(`{"plan":%q,"country":%q}`, c.plan, c.country)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: c.user, EventType: event.TypePageView, Page: "/", Properties: json.RawMessage(props),
				Timestamp: at.Add(time.Duration(i) * time.Minute)},
			Message: event.Message{EventID: id, EventType: event.TypePageView, Status: event.StatusCompleted, Source: event.SourceAPI, QueuedAt: at},
		})
	}
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Loopback: true}, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)
	for query, want := range map[string]map[string]int64{
		"measure=users&breakdown=properties.country":                                  {"FR": 4, "DE": 1},
		"measure=users&filter=properties.plan:in:pro,pro:annual":                      {"": 3},
		"measure=users&filter=properties.plan:equals:pro:annual":                      {"": 1},
		"measure=count&filter=properties.country:equals:FR&breakdown=properties.plan": {"pro": 2, "free": 1, "pro:annual": 1, `a,b\`: 1},
	} {
		code, raw := send(t, "GET", srv.URL+"/api/insights/trend/?from=2026-12-01T10:00:00Z&to=2026-12-01T10:59:59Z&interval=hour&"+query, "", "", "")
		if code != http.StatusOK {
			t.Fatalf("trend?%s: %d %s", query, code, raw)
		}
		var tr insights.Trend
		if err := json.Unmarshal([]byte(raw), &tr); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, s := range tr.Current.Series {
			got[s.Key] = s.Total
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("trend?%s: series %v, want %v (%s)", query, got, want, raw)
		}
	}
}

// A funnel over the API: three users land, two sign up, one buys; and
// every bad body a 400 that names the problem.
func TestFunnelOverTheAPI(t *testing.T) {
	deps, reg := opsBackend(t)
	db := deps.Series.(store.Store)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var batch []store.Record
	for i, c := range []struct {
		user, typ, plan string
		after           time.Duration
	}{
		{"ann", "landing", "pro", 0}, {"bob", "landing", "free", time.Minute}, {"cy", "landing", "pro", 2 * time.Minute},
		{"ann", "signup", "", 10 * time.Minute}, {"bob", "signup", "", 30 * time.Minute},
		{"ann", "purchase", "", 20 * time.Minute},
		{"cy", "purchase", "", 3 * time.Minute}, // before signing up: not the funnel's order
	} {
		id := fmt.Sprintf("funnel-%d", i)
		props := json.RawMessage(`{}`)
		if c.plan != "" {
			props = json.RawMessage(`{"plan":"` + c.plan + `"}`)
		}
		batch = append(batch, store.Record{
			Event:   &event.Event{EventID: id, UserID: c.user, EventType: c.typ, Timestamp: at.Add(c.after), Properties: props},
			Message: event.Message{EventID: id, EventType: c.typ, Status: event.StatusCompleted, Source: event.SourceAPI, QueuedAt: at},
		})
	}
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Loopback: true}, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)

	body := `{"steps":[{"event_type":"landing","filters":[{"field":"properties.plan","op":"is_set"}]},{"event_type":"signup"},{"event_type":"purchase"}],
		"window":"1h","from":"2026-12-01T00:00:00Z","to":"2026-12-02T00:00:00Z","breakdown":"properties.plan"}`
	code, raw := send(t, "POST", srv.URL+"/api/insights/funnel/", "application/json", body, "")
	if code != http.StatusOK {
		t.Fatalf("funnel: %d %s", code, raw)
	}
	var f insights.Funnel
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatal(err)
	}
	var counts []int64
	for _, st := range f.Steps {
		counts = append(counts, st.Count)
	}
	if fmt.Sprint(counts) != "[3 2 1]" || fmt.Sprint(f.Steps[1].DroppedUsers) != "[cy]" || fmt.Sprint(f.Steps[2].DroppedUsers) != "[bob]" ||
		f.Steps[1].MedianSeconds == nil || *f.Steps[1].MedianSeconds != 1170 || f.WindowSeconds != 3600 ||
		len(f.Breakdown) != 2 || f.Breakdown[0].Value != "pro" || f.Breakdown[0].Steps[2].Count != 1 {
		t.Fatalf("funnel = %s", raw)
	}

	for bad, want := range map[string]string{
		`{"steps":[{"event_type":"a"}]}`:                                                                           "a funnel has 2 to 10 steps, not 1",
		`{"steps":[{"event_type":"a"},{"event_type":""}]}`:                                                         "steps[1]: event_type is required",
		`{"steps":[{"event_type":"a"},{"event_type":"b"}],"window":"soon"}`:                                        "is not a duration such as 30m",
		`{"steps":[{"event_type":"a"},{"event_type":"b"}],"window":"91d"}`:                                         "window must be between 1m and 90d",
		`{"steps":[{"event_type":"a"},{"event_type":"b"}],"window":"0"}`:                                           "window must be between 1m and 90d",
		`{"steps":[{"event_type":"a"},{"event_type":"b"}],"range":"2d"}`:                                           "range: must be 30m, 1h, 24h, 7d or 30d",
		`{"steps":[{"event_type":"a"},{"event_type":"b"}],"from":"x","to":"y"}`:                                    "from: must be an RFC 3339 time",
		`{"steps":[{"event_type":"a"},{"event_type":"b"}],"breakdown":"user_id"}`:                                  "use page, element_id, source_id, session_id or properties.",
		`{"steps":[{"event_type":"a","filters":[{"field":"properties.a b","op":"is_set"}]},{"event_type":"b"}]}`:   "steps[0]: filter: property key",
		`{"steps":[{"event_type":"a","filters":[{"field":"page","op":"like","value":"x"}]},{"event_type":"b"}]}`:   "op must be equals",
		`{"steps":[{"event_type":"a","filters":[{"field":"page","op":"in"}]},{"event_type":"b"}]}`:                 "in takes 1 to 50 values",
		`{"steps":[{"event_type":"a","filters":[{"field":"page","op":"is_set","value":"x"}]},{"event_type":"b"}]}`: "is_set takes no value",
		`{"steps":[{"event_type":"a"},{"event_type":"b"}],"limit":21}`:                                             "limit must be between 1 and 20",
	} {
		code, raw := send(t, "POST", srv.URL+"/api/insights/funnel/", "application/json", bad, "")
		if code != http.StatusBadRequest || !strings.Contains(raw, want) {
			t.Errorf("%s: %d %s, want 400 with %q", bad, code, raw, want)
		}
	}
}

// Retention over the API: users first seen on two days, some back the
// next day or on signup; and every bad query a 400 that names the
// parameter.
func TestRetentionOverTheAPI(t *testing.T) {
	deps, reg := opsBackend(t)
	db := deps.Series.(store.Store)
	// A Monday two weeks back: the events' three days share a week, and
	// the table runs on to today.
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	day = day.AddDate(0, 0, -((int(day.Weekday())+6)%7)-14)
	var batch []store.Record
	for i, c := range []struct {
		user, typ string
		at        time.Time
	}{
		{"ann", "landing", day.Add(9 * time.Hour)}, {"bob", "landing", day.Add(10 * time.Hour)},
		{"cy", "landing", day.Add(33 * time.Hour)},
		{"ann", "landing", day.Add(34 * time.Hour)}, {"bob", "signup", day.Add(35 * time.Hour)},
		{"cy", "signup", day.Add(58 * time.Hour)},
	} {
		id := fmt.Sprintf("retention-%d", i)
		batch = append(batch, store.Record{
			Event:   &event.Event{EventID: id, UserID: c.user, EventType: c.typ, Timestamp: c.at},
			Message: event.Message{EventID: id, EventType: c.typ, Status: event.StatusCompleted, Source: event.SourceAPI, QueuedAt: c.at},
		})
	}
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Loopback: true}, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)

	cohorts := func(query string) string {
		t.Helper()
		code, raw := send(t, "GET", srv.URL+"/api/insights/retention/?"+query, "", "", "")
		if code != http.StatusOK {
			t.Fatalf("retention?%s: %d %s", query, code, raw)
		}
		var r insights.Retention
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range r.Cohorts {
			out = append(out, fmt.Sprintf("%s:%d%v", c.Start.Format("01-02"), c.Users, c.Returned))
		}
		return strings.Join(out, " ")
	}
	// Every cohort's row is as long as the periods from it to today's.
	days := int(now.Sub(day) / (24 * time.Hour))
	span := "from=" + day.Format(time.RFC3339) + "&to=" + day.Add(47*time.Hour).Format(time.RFC3339)
	want := fmt.Sprintf("%s:2[2 2%s] %s:1[1 1%s]", day.Format("01-02"), strings.Repeat(" 0", days-1),
		day.AddDate(0, 0, 1).Format("01-02"), strings.Repeat(" 0", days-2))
	if got := cohorts(span); got != want {
		t.Errorf("retention on any event = %s, want %s", got, want)
	}
	// A range of one period is one cohort, today's; the answer's from is
	// its start.
	today := now.Truncate(24 * time.Hour)
	for _, q := range []string{"range=1d", "period=week&range=1w", "period=week&range=3d"} {
		code, raw := send(t, "GET", srv.URL+"/api/insights/retention/?"+q, "", "", "")
		var r insights.Retention
		if err := json.Unmarshal([]byte(raw), &r); code != http.StatusOK || err != nil || len(r.Cohorts) != 1 || !r.From.Equal(r.Cohorts[0].Start) {
			t.Errorf("retention?%s: %d %s, want one cohort from its start", q, code, raw)
		} else if q == "range=1d" && !r.From.Equal(today) {
			t.Errorf("retention?%s: from %s, want today %s", q, r.From, today)
		}
	}
	want = day.Format("01-02") + ":3[2 0 0]"
	if got := cohorts(span + "&return_event=signup&period=week"); got != want {
		t.Errorf("weekly retention on signup = %s, want %s", got, want)
	}

	for query, want := range map[string]string{
		"period=month":                        "period: must be day or week",
		"range=fortnight":                     "range: must be a number of days or weeks",
		"range=0d":                            "range: must be a number of days or weeks",
		"range=200d":                          "200 cohorts of a day in this range; at most 120",
		"range=14d&from=2026-12-01T00:00:00Z": "range: give a range or from and to",
		"from=2026-12-01T00:00:00Z":           "to: required with from",
		"from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z": "the range must not end before it starts",
		"return_event=" + strings.Repeat("x", 65):           "return_event: longer than 64 bytes",
	} {
		code, raw := send(t, "GET", srv.URL+"/api/insights/retention/?"+query, "", "", "")
		if code != http.StatusBadRequest || !strings.Contains(raw, want) {
			t.Errorf("retention?%s: %d %s, want 400 with %q", query, code, raw, want)
		}
	}
}

// The live panel over the API: the events of the last minutes counted, a
// parameter refused.
func TestLiveOverTheAPI(t *testing.T) {
	deps, reg := opsBackend(t)
	db := deps.Series.(store.Store)
	now := time.Now()
	var batch []store.Record
	for i, u := range []string{"ann", "bob", "ann"} {
		id := fmt.Sprintf("live-%d", i)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: u, SessionID: u + "-1", EventType: event.TypePageView, Page: "/pricing",
				ElementID: "nav", Timestamp: now.Add(-time.Duration(i) * time.Second)},
			Message: event.Message{EventID: id, EventType: event.TypePageView, Status: event.StatusCompleted, Source: event.SourceAPI, QueuedAt: now},
		})
	}
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Loopback: true}, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)
	code, raw := send(t, "GET", srv.URL+"/api/insights/live/", "", "", "")
	var l insights.Live
	if err := json.Unmarshal([]byte(raw), &l); err != nil || code != http.StatusOK {
		t.Fatalf("live: %d %s", code, raw)
	}
	if l.Users5m != 2 || l.Sessions5m != 2 || l.Events5m != 3 || len(l.Minutes) != 30 ||
		len(l.TopPages) != 1 || l.TopPages[0] != (insights.LiveCount{Key: "/pricing", Events: 3}) {
		t.Fatalf("live = %s", raw)
	}
	if code, raw := send(t, "GET", srv.URL+"/api/insights/live/?range=1h", "", "", ""); code != http.StatusBadRequest ||
		!strings.Contains(raw, "takes no parameters") {
		t.Errorf("live?range=1h: %d %s", code, raw)
	}
}
