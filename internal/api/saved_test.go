package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/store"
)

// Saved insights over the API: saved, listed, pinned, renamed, deleted;
// and every bad body a 400 that names the problem, an unknown id a 404.
func TestSavedInsightsOverTheAPI(t *testing.T) {
	deps, reg := opsBackend(t)
	srv := httptest.NewServer(New(Config{Loopback: true}, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)
	base := srv.URL + "/api/insights/saved/"
	const ct = "application/json"

	code, raw := send(t, "POST", base, ct, `{"name":"  Signups by plan ","kind":"trend","query":"?type=signup&breakdown=properties.plan"}`, "")
	if code != http.StatusCreated {
		t.Fatalf("save: %d %s", code, raw)
	}
	var saved struct {
		Insight store.SavedInsight `json:"insight"`
	}
	if err := json.Unmarshal([]byte(raw), &saved); err != nil {
		t.Fatal(err)
	}
	ins := saved.Insight
	if ins.Name != "Signups by plan" || ins.Query != "type=signup&breakdown=properties.plan" || ins.Pinned || !strings.HasPrefix(ins.ID, "ins_") {
		t.Fatalf("saved %+v", ins)
	}
	code, raw = send(t, "PATCH", base+ins.ID+"/", ct, `{"pinned":true}`, "")
	if code != http.StatusOK || !strings.Contains(raw, `"pinned":true`) || !strings.Contains(raw, `"name":"Signups by plan"`) {
		t.Fatalf("pin: %d %s", code, raw)
	}
	code, raw = send(t, "GET", base, "", "", "")
	var list struct {
		Insights []store.SavedInsight `json:"insights"`
	}
	if err := json.Unmarshal([]byte(raw), &list); err != nil || code != http.StatusOK || len(list.Insights) != 1 || !list.Insights[0].Pinned {
		t.Fatalf("list: %d %s", code, raw)
	}

	for body, want := range map[string]string{
		`{"name":"","kind":"trend","query":""}`:                                   "name: required",
		`{"name":"` + strings.Repeat("é", 101) + `","kind":"trend","query":""}`:   "name: at most 100 characters",
		`{"name":"a\u0007b","kind":"trend","query":""}`:                           "name: control characters",
		`{"name":"x","kind":"dashboard","query":""}`:                              "kind: must be trend, funnel or retention",
		`{"name":"x","kind":"trend","query":"a=%zz"}`:                             "query: not a URL query string",
		`{"name":"x","kind":"trend","query":"` + strings.Repeat("a", 4097) + `"}`: "query: at most 4096 bytes",
		`{"name":"x","kind":"trend","query":"","owner":"me"}`:                     "owner: unknown member",
	} {
		code, raw := send(t, "POST", base, ct, body, "")
		if code != http.StatusBadRequest || !strings.Contains(raw, want) {
			t.Errorf("save %.60s: %d %s, want 400 with %q", body, code, raw, want)
		}
	}
	if code, raw := send(t, "PATCH", base+ins.ID+"/", ct, `{}`, ""); code != http.StatusBadRequest || !strings.Contains(raw, "nothing to change") {
		t.Errorf("empty patch: %d %s", code, raw)
	}
	if code, raw := send(t, "PATCH", base+"ins_nope/", ct, `{"pinned":false}`, ""); code != http.StatusNotFound || !strings.Contains(raw, "ins_nope") {
		t.Errorf("patch of an unknown id: %d %s", code, raw)
	}
	if code, raw := send(t, "DELETE", base+ins.ID+"/", "", "", ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, raw)
	}
	if code, raw := send(t, "DELETE", base+ins.ID+"/", "", "", ""); code != http.StatusNotFound {
		t.Errorf("second delete: %d %s", code, raw)
	}
}

// A team keeps at most maxSavedInsights: one more is a 409 that says so.
func TestSavedInsightsAreBounded(t *testing.T) {
	deps, reg := opsBackend(t)
	srv := httptest.NewServer(New(Config{Loopback: true}, deps, nil, reg).Handler())
	t.Cleanup(srv.Close)
	for i := range maxSavedInsights {
		if code, raw := send(t, "POST", srv.URL+"/api/insights/saved/", "application/json", `{"name":"n","kind":"funnel","query":"step=a"}`, ""); code != http.StatusCreated {
			t.Fatalf("save %d: %d %s", i, code, raw)
		}
	}
	code, raw := send(t, "POST", srv.URL+"/api/insights/saved/", "application/json", `{"name":"n","kind":"funnel","query":"step=a"}`, "")
	if code != http.StatusConflict || !strings.Contains(raw, "at most 200 saved insights") {
		t.Fatalf("one too many: %d %s", code, raw)
	}
}
