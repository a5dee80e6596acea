package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// A property key kept over the API: the trend broken down by it answers
// the same before the key (from the events), while it fills, and once it
// reads the rollups; bad keys, the limit and an unknown key are refused
// with the reason.
func TestRollupKeysOverTheAPI(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var changed atomic.Int32
	srv := httptest.NewServer(New(Config{Loopback: true}, Deps{Insights: insights.New(db), RollupKeys: db,
		RollupKeysChanged: func() { changed.Add(1) }}, nil, nil).Handler())
	t.Cleanup(srv.Close)

	now := time.Now().UTC()
	plans := []string{`"free"`, `"pro"`, `"team"`, `"\u0070ro"`, `3`, `null`}
	var batch []store.Record
	for i := range 300 {
		id := fmt.Sprintf("rk-%d", i)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: fmt.Sprint("u", i%17), EventType: event.TypePageView,
				Timestamp: now.Add(-time.Duration(i) * 4 * time.Minute), Properties: json.RawMessage(`{"plan": ` + plans[i%len(plans)] + `}`)},
			Message: event.Message{EventID: id, EventType: event.TypePageView, Status: event.StatusCompleted, Source: event.SourceAPI},
		})
	}
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	trendURL := srv.URL + "/api/insights/trend/?" + url.Values{"interval": {"hour"}, "breakdown": {"properties.plan"},
		"to": {now.Format(time.RFC3339)}, "from": {now.Add(-24 * time.Hour).Format(time.RFC3339)}, "compare": {"previous"}}.Encode()
	trend := func() string {
		t.Helper()
		code, raw := send(t, "GET", trendURL, "", "", "")
		if code != http.StatusOK {
			t.Fatalf("trend: %d %s", code, raw)
		}
		return raw
	}
	fromEvents := trend()

	code, raw := send(t, "POST", srv.URL+"/api/insights/rollup-keys/", "application/json", `{"key":"plan"}`, "")
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, raw)
	}
	var added struct{ Key store.RollupKeyState }
	if err := json.Unmarshal([]byte(raw), &added); err != nil || added.Key.Key != "plan" || added.Key.Ready {
		t.Fatalf("POST answered %s (%v); want plan, not ready", raw, err)
	}
	if changed.Load() != 1 {
		t.Fatalf("the filler was told %d times of the added key", changed.Load())
	}
	if code, raw := send(t, "POST", srv.URL+"/api/insights/rollup-keys/", "application/json", `{"key":"plan"}`, ""); code != http.StatusOK {
		t.Fatalf("POST of a kept key: %d %s; want 200", code, raw)
	}
	if got := trend(); got != fromEvents {
		t.Fatalf("while filling the trend is\n%s\nnot\n%s", got, fromEvents)
	}
	for {
		more, err := db.FillRollupKeys(t.Context(), 40)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	code, raw = send(t, "GET", srv.URL+"/api/insights/rollup-keys/", "", "", "")
	var list struct {
		Keys []store.RollupKeyState
		Max  int
	}
	if err := json.Unmarshal([]byte(raw), &list); code != http.StatusOK || err != nil || len(list.Keys) != 1 || !list.Keys[0].Ready ||
		list.Keys[0].Filled != 1 || list.Max != store.MaxRollupKeys {
		t.Fatalf("GET: %d %s; want plan ready", code, raw)
	}
	if got := trend(); got != fromEvents {
		t.Fatalf("from the rollups the trend is\n%s\nnot, as from the events,\n%s", got, fromEvents)
	}

	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/api/insights/rollup-keys/", `{"key":"properties.plan"}`, 400, "without"},
		{"POST", "/api/insights/rollup-keys/", `{"key":"a.b"}`, 400, "letters, digits"},
		{"POST", "/api/insights/rollup-keys/", `{"key":""}`, 400, "property key"},
		{"POST", "/api/insights/rollup-keys/", `{"name":"plan"}`, 400, "name"},
		{"GET", "/api/insights/rollup-keys/?all=1", "", 400, "no parameters"},
		{"DELETE", "/api/insights/rollup-keys/country/", "", 404, `country\" is not kept`},
	} {
		code, raw := send(t, tc.method, srv.URL+tc.path, "application/json", tc.body, "")
		if code != tc.status || !strings.Contains(raw, tc.want) {
			t.Errorf("%s %s %s: %d %s; want %d naming %q", tc.method, tc.path, tc.body, code, raw, tc.status, tc.want)
		}
	}
	for i := range store.MaxRollupKeys - 1 {
		if code, raw := send(t, "POST", srv.URL+"/api/insights/rollup-keys/", "application/json", fmt.Sprintf(`{"key":"k%d"}`, i), ""); code != http.StatusCreated {
			t.Fatalf("POST k%d: %d %s", i, code, raw)
		}
	}
	if code, raw := send(t, "POST", srv.URL+"/api/insights/rollup-keys/", "application/json", `{"key":"one_more"}`, ""); code != http.StatusConflict || !strings.Contains(raw, "remove one first") {
		t.Fatalf("POST beyond the maximum: %d %s; want 409", code, raw)
	}
	if code, raw := send(t, "DELETE", srv.URL+"/api/insights/rollup-keys/plan/", "", "", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", code, raw)
	}
	if got := trend(); got != fromEvents {
		t.Fatalf("after the key is removed the trend is\n%s\nnot\n%s", got, fromEvents)
	}
}
