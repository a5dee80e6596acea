package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/store"
)

func (e *testEnv) send(method, path, body string) response {
	e.t.Helper()
	return e.do(method, path, "application/json", []byte(body), nil)
}

const signupSchema = `{"type": "object", "required": ["plan"], "properties": {"plan": {"enum": ["free", "pro"]}}}`

// TestPlanThroughTheAPI: an entry stored as written, refused schemas
// with their reason, one type replaced and deleted, a whole plan applied
// all or nothing.
func TestPlanThroughTheAPI(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	r := ce.send("PUT", "/api/plan/types/signup/", `{"description":"An account made","schema":`+signupSchema+`}`)
	if r.status != http.StatusOK {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	var view struct{ Entries []store.PlanEntry }
	ce.get("/api/plan/").json(t, &view)
	// Key order is the user's (the answer is compact JSON).
	if len(view.Entries) != 1 || string(view.Entries[0].Schema) != strings.ReplaceAll(signupSchema, " ", "") || view.Entries[0].Description != "An account made" {
		t.Fatalf("plan %+v", view.Entries)
	}
	for _, c := range []struct{ path, body, want string }{
		{"/api/plan/types/Sign%20Up/", `{"schema":true}`, "event_type: must match"},
		{"/api/plan/types/signup/", `{"schema":{"type":"strnig"}}`, "signup: schema: is not a valid JSON Schema: at /type"},
		{"/api/plan/types/signup/", `{"schema":{"$ref":"http://169.254.169.254/latest"}}`, "not allowed in a tracking plan"},
		{"/api/plan/types/signup/", `{}`, "schema: is required"},
	} {
		if r := ce.send("PUT", c.path, c.body); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), c.want) {
			t.Errorf("PUT %s %s: %d %s, want 400 saying %q", c.path, c.body, r.status, r.body, c.want)
		}
	}
	// A plan with one bad entry changes nothing.
	if r := ce.send("PUT", "/api/plan/", `{"entries":[{"event_type":"a","schema":true},{"event_type":"b","schema":{"minimum":"x"}}]}`); r.status != http.StatusBadRequest ||
		!strings.Contains(string(r.body), "b: schema") {
		t.Fatalf("bad plan: %d %s", r.status, r.body)
	}
	ce.get("/api/plan/").json(t, &view)
	if len(view.Entries) != 1 {
		t.Fatalf("a refused plan changed it: %+v", view.Entries)
	}
	if r := ce.send("PUT", "/api/plan/", `{"entries":[{"event_type":"a","schema":true},{"event_type":"a","schema":true}]}`); r.status != http.StatusBadRequest ||
		!strings.Contains(string(r.body), "twice") {
		t.Fatalf("a type twice: %d %s", r.status, r.body)
	}
	if r := ce.send("PUT", "/api/plan/", `{"entries":[{"event_type":"page_view","schema":true},{"event_type":"signup","description":"d","schema":`+signupSchema+`}]}`); r.status != http.StatusOK {
		t.Fatalf("plan: %d %s", r.status, r.body)
	}
	if r := ce.send("DELETE", "/api/plan/types/page_view/", ``); r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := ce.send("DELETE", "/api/plan/types/page_view/", ``); r.status != http.StatusNotFound {
		t.Fatalf("delete again: %d %s", r.status, r.body)
	}
	ce.get("/api/plan/").json(t, &view)
	if len(view.Entries) != 1 || view.Entries[0].EventType != "signup" {
		t.Fatalf("plan %+v", view.Entries)
	}
}

// TestSourcePlanModes: a source switched to strict refuses what breaks
// the plan at once (this server reloads), switched to warn stores it;
// both are counted in the warnings with an example.
func TestSourcePlanModes(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	if r := ce.send("PUT", "/api/plan/types/signup/", `{"schema":`+signupSchema+`}`); r.status != http.StatusOK {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	patch := "/api/sources/" + ce.shop.ID + "/"
	for _, c := range []struct{ body, want string }{
		{`{"settings":{"plan":"STRICT"}}`, "settings.plan: must be"},
		{`{"origins":["ftp://x"]}`, "origins[0]"},
	} {
		if r := ce.send("PATCH", patch, c.body); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), c.want) {
			t.Errorf("PATCH %s: %d %s, want 400 saying %q", c.body, r.status, r.body, c.want)
		}
	}
	if r := ce.send("PATCH", "/api/sources/src_none/", `{"settings":{"plan":"warn"}}`); r.status != http.StatusNotFound {
		t.Fatalf("unknown source: %d %s", r.status, r.body)
	}
	r := ce.send("PATCH", patch, `{"settings":{"plan":"strict"}}`)
	var updated struct{ Source store.Source }
	r.json(t, &updated)
	if r.status != http.StatusOK || updated.Source.Settings.Plan != "strict" || len(updated.Source.Origins) != 1 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	origin := http.Header{"Origin": {"https://shop.example"}}
	bad := `{"event_id":"0193a5b2-7c3d-7e4f-8a1b-000000000001","event_type":"signup","anonymous_id":"a","properties":{"plan":"gold"}}`
	good := `{"event_id":"0193a5b2-7c3d-7e4f-8a1b-000000000002","event_type":"signup","anonymous_id":"a","properties":{"plan":"pro"}}`
	r = ce.collect(tracked(ce.shop.WriteKey, good, bad), origin)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"accepted":1`) ||
		!strings.Contains(string(r.body), `"field":"events[1].properties.plan"`) {
		t.Fatalf("strict: %d %s", r.status, r.body)
	}
	if r := ce.send("PATCH", patch, `{"settings":{"plan":"warn"}}`); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	bad2 := strings.Replace(bad, "000000000001", "000000000003", 1)
	if r := ce.collect(tracked(ce.shop.WriteKey, bad2), origin); r.status != http.StatusOK || !strings.Contains(string(r.body), `"accepted":1`) {
		t.Fatalf("warn: %d %s", r.status, r.body)
	}
	ce.collector.Flush(t.Context())
	var ws struct{ Warnings []store.PlanWarning }
	ce.get("/api/plan/warnings/?range=1h&source="+ce.shop.ID).json(t, &ws)
	if len(ws.Warnings) != 1 {
		t.Fatalf("warnings %+v", ws.Warnings)
	}
	w := ws.Warnings[0]
	if w.Warned != 1 || w.Rejected != 1 || w.Problem != "/properties/plan/enum" || w.EventType != "signup" ||
		!strings.Contains(string(w.Example), "000000000003") {
		t.Fatalf("warning %+v (example %s)", w, w.Example)
	}
	if r := ce.get("/api/plan/warnings/?range=1y"); r.status != http.StatusBadRequest {
		t.Fatalf("bad range: %d %s", r.status, r.body)
	}
}
