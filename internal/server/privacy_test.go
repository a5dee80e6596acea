package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pulse-dev/pulse/internal/api"
	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/deadletter"
)

// The test user's personal values: none may reach a viewer. The email is
// in a property the test declares personal.
const (
	secretUser    = "secret-user-4711"
	secretSession = "secret-session-88"
	secretAnon    = "secret-anon-31"
	secretEmail   = "secret@mail.example"
)

var personalValues = []string{secretUser, secretSession, secretAnon, secretEmail}

// leaked returns the personal values body holds.
func leaked(body string) []string {
	var out []string
	for _, v := range personalValues {
		if strings.Contains(strings.ToLower(body), strings.ToLower(v)) {
			out = append(out, v)
		}
	}
	return out
}

// TestAViewerNeverReadsAPersonalValue: with a user's events stored,
// dead-lettered, held back in flight and streaming, a viewer walks every
// documented read of the API, the exports and the WebSocket, and never
// reads one of the user's personal values; a search by one is refused.
// An admin walking the same reads them: the values are there to leak.
func TestAViewerNeverReadsAPersonalValue(t *testing.T) {
	const adminToken = "privacy-admin-token"
	r := startOps(t, func(c *config.Config) { c.HTTP.AdminToken = adminToken })
	a, err := auth.New(r.store, auth.Options{Hash: auth.HashParams{Memory: 64, Time: 1, Threads: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"admin": adminToken}
	for _, role := range []string{"viewer", "operator"} {
		_, secret, err := a.CreateToken(t.Context(), auth.NewToken{Name: role, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = secret
	}
	if code, body := call(t, "PUT", r.url("/api/privacy/fields/"), adminToken,
		map[string]any{"fields": []string{"user_id", "session_id", "anonymous_id", "properties.email"}}, nil); code != http.StatusOK {
		t.Fatalf("declare the personal fields: %d %s", code, body)
	}

	ingest := func(body string) map[string]any {
		t.Helper()
		var out map[string]any
		if code, raw := call(t, "POST", r.url("/api/events/create/"), adminToken, json.RawMessage(body), &out); code != http.StatusCreated {
			t.Fatalf("ingest %s: %d %s", body, code, raw)
		}
		return out
	}
	person := fmt.Sprintf(`"user_id":%q,"session_id":%q,"anonymous_id":%q`, secretUser, secretSession, secretAnon)
	props := fmt.Sprintf(`"properties":{"email":%q,"plan":"pro"}`, secretEmail)
	var viewed string
	for _, typ := range []string{"page_view", "signup", "purchase"} {
		viewed = ingest(`{` + person + `,"event_type":"` + typ + `","element_id":"cta","page":"/pricing",` + props + `}`)["event_id"].(string)
	}
	failing := ingest(`{` + person + `,"event_type":"button_click","element_id":"pay","should_fail":true,` + props + `}`)["event_id"].(string)
	eventually(t, 30*time.Second, "the failing event dead-lettered and listed", func() (bool, string) {
		var list deadletter.View
		call(t, "GET", r.url("/api/dlq/"), adminToken, nil, &list)
		return list.Total >= 1, fmt.Sprintf("total %d", list.Total)
	})
	waitSettled(t, r, 3)
	// Held in flight while the walk runs: the ordering view, the queue
	// and the live frames show it.
	ingest(`{` + person + `,"event_type":"page_view","element_id":"slow","delay_seconds":30,` + props + `}`)
	eventually(t, 20*time.Second, "the delayed record holds its key", func() (bool, string) {
		_, body := call(t, "GET", r.url("/api/ordering/"), adminToken, nil, nil)
		return strings.Contains(body, secretUser+":page_view"), body
	})

	walks := 0
	walk := func(token string) map[string]string {
		t.Helper()
		bodies := map[string]string{}
		get := func(path string) {
			_, body := call(t, "GET", r.url(path), token, nil, nil)
			bodies["GET "+path] = body
		}
		doc := api.OpenAPI()
		var paths []string
		for p, item := range doc["paths"].(map[string]any) {
			if _, ok := item.(map[string]any)["get"]; ok && !strings.HasPrefix(p, "/api/auth/oidc/") {
				paths = append(paths, p)
			}
		}
		sort.Strings(paths)
		for _, p := range paths {
			p = strings.NewReplacer("{event_id}", viewed, "{user_id}", url.PathEscape(secretUser)).Replace(p)
			get(p)
		}
		get("/api/messages/" + failing + "/")
		for _, q := range []string{
			"format=csv", "format=ndjson",
		} {
			get("/api/events/export/?" + q)
		}
		for _, q := range []string{
			"breakdown=properties.email&range=1h", "breakdown=session_id&range=1h",
			"breakdown=properties.email&range=1h&measure=users", "event_type=signup&filter=properties.email:is_set&range=1h",
		} {
			get("/api/insights/trend/?" + q)
		}
		get("/api/events/?q=secret")
		funnel := map[string]any{"range": "1h", "breakdown": "properties.email",
			"steps": []map[string]any{{"event_type": "page_view"}, {"event_type": "signup"}, {"event_type": "refund"}}}
		_, body := call(t, "POST", r.url("/api/insights/funnel/"), token, funnel, nil)
		bodies["POST /api/insights/funnel/"] = body
		walks++
		bye := fmt.Sprintf("bye-%d", walks)
		bodies["WebSocket"] = socketFrames(t, r, token, bye, func() {
			ingest(`{` + person + `,"event_type":"logout","element_id":"` + bye + `",` + props + `}`)
		})
		return bodies
	}

	// The admin first, while the delayed record is surely in flight.
	seen := map[string]bool{}
	for where, body := range walk(adminToken) {
		if len(leaked(body)) > 0 {
			seen[where] = true
		}
	}
	for _, role := range []string{"viewer", "operator"} {
		for where, body := range walk(tokens[role]) {
			if got := leaked(body); len(got) > 0 {
				t.Errorf("%s as %s shows %v: %.600s", where, role, got, body)
			}
		}
	}
	for _, where := range []string{"GET /api/events/latest/", "GET /api/events/export/?format=csv", "GET /api/dlq/",
		"GET /api/ordering/", "GET /api/queue/messages/", "GET /api/users/" + url.PathEscape(secretUser) + "/", "WebSocket",
		"GET /api/insights/trend/?breakdown=properties.email&range=1h", "POST /api/insights/funnel/"} {
		if !seen[where] {
			t.Errorf("%s as admin shows no personal value: the walk proves nothing there", where)
		}
	}

	// A search by a personal value is refused, naming the field and the
	// role; is_set tells nothing and passes.
	for _, path := range []string{
		"/api/events/?user_id=" + secretUser, "/api/events/?session_id=" + secretSession,
		"/api/events/export/?user_id=" + secretUser, "/api/users/" + secretUser + "/",
		"/api/insights/trend/?range=1h&filter=properties.email:equals:" + url.QueryEscape(secretEmail),
		"/api/insights/trend/?range=1h&filter=properties.Email:contains:secret",
	} {
		code, body := call(t, "GET", r.url(path), tokens["viewer"], nil, nil)
		if code != http.StatusForbidden || !strings.Contains(body, "personal field") || !strings.Contains(body, "admin") {
			t.Errorf("GET %s as viewer: %d %s, want 403 naming the personal field", path, code, body)
		}
	}
	funnel := map[string]any{"range": "1h", "steps": []map[string]any{
		{"event_type": "page_view"}, {"event_type": "signup", "filters": []map[string]any{{"field": "session_id", "op": "equals", "value": secretSession}}}}}
	if code, body := call(t, "POST", r.url("/api/insights/funnel/"), tokens["viewer"], funnel, nil); code != http.StatusForbidden || !strings.Contains(body, "steps[1].filters[0]") {
		t.Errorf("a funnel filtered by a session as viewer: %d %s", code, body)
	}
	if code, body := call(t, "GET", r.url("/api/events/?user_id="+secretUser), adminToken, nil, nil); code != http.StatusOK || !strings.Contains(body, secretUser) {
		t.Errorf("an admin's search by user_id: %d %.300s", code, body)
	}
}

// socketFrames opens the WebSocket with token, sends a new event with
// produce once initial_data is in, and returns every frame up to the one
// that carries it (its element_id is marker), joined.
func socketFrames(t *testing.T, r *running, token, marker string, produce func()) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+r.Addr()+"/ws/events/", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	var all strings.Builder
	for first := true; ; first = false {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v (frames so far: %.500s)", err, all.String())
		}
		all.Write(data)
		all.WriteByte('\n')
		if first {
			produce()
		}
		if strings.Contains(string(data), `"`+marker+`"`) {
			return all.String()
		}
	}
}
