package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/auth"
)

// TestEveryJSONBodyIsStrict: the batch wrapper {"events":[A],"events":[B]}
// stored only B, {"EVENTS":[...]} was taken for events, data after the
// object was ignored and {"dry_run":true,"dry_run":false} ran a real
// replay. Every JSON body the API reads (each operation with a body in
// the OpenAPI description, but a single event, whose contract is
// event.Decode's) refuses a member named twice, an unknown member, a
// name in another case, data after the object, anything but an object
// and a body over its limit, with the member or the problem named.
func TestEveryJSONBodyIsStrict(t *testing.T) {
	env := newEnv(t, Config{Loopback: true}, nil)
	// The admin token: the accounts this test adds close the open server.
	const admin = "decode-admin-token"
	ops, _, accounts := authServer(t, Config{Loopback: true, AdminToken: admin})
	acct, err := accounts.AddAccount(t.Context(), auth.NewAccount{Email: "decode@example.com", Role: "admin", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	// A saved insight to change.
	code, raw := send(t, "POST", ops.URL+"/api/insights/saved/", "application/json", `{"name":"decode","kind":"trend","query":""}`, admin)
	_, rest, _ := strings.Cut(raw, `"id":"`)
	savedID, _, _ := strings.Cut(rest, `"`)
	if code != http.StatusCreated || savedID == "" {
		t.Fatalf("save: %d %s", code, raw)
	}
	// An alert rule to change.
	code, raw = send(t, "POST", ops.URL+"/api/alerts/rules/", "application/json", `{"name":"decode","signal":"consumers","op":"below","threshold":1}`, admin)
	_, rest, _ = strings.Cut(raw, `"id":"`)
	alertID, _, _ := strings.Cut(rest, `"`)
	if code != http.StatusCreated || alertID == "" {
		t.Fatalf("alert rule: %d %s", code, raw)
	}
	bodies := map[string]struct {
		url   string
		limit int
		// base is a body the endpoint decodes, as its answer, which has
		// decoded, shows; member is one of its members, with a value.
		base, decoded, member, value string
		// at is the path to send to when the operation's has parameters.
		at string
	}{
		"POST /api/events/batch/": {env.srv.URL, MaxBatchBody, `{"events":[{"user_id":"u","event_type":"page_view"}]}`,
			`"accepted":1`, "events", `[{"user_id":"v","event_type":"page_view"}]`, ""},
		// The dead-letter topic is empty: a dry run of all finds nothing.
		"POST /api/dlq/replay/": {ops.URL, maxOpsBody, `{"all":true,"dry_run":true}`, "nothing selected", "dry_run", "false", ""},
		// The group has no members and no commits: unknown.
		"POST /api/consumers/rewind/": {ops.URL, maxOpsBody, `{"to":"earliest","dry_run":true}`, "is unknown", "to", `"latest"`, ""},
		"POST /api/load/": {ops.URL, maxOpsBody, `{"events_per_second":1,"duration_seconds":1}`,
			`"status":"running"`, "duration_seconds", "2", ""},
		"POST /api/collect/": {ops.URL, 64 << 10, `{"key":"` + opsWriteKey + `","events":[{"event_type":"page_view","anonymous_id":"a"}]}`,
			`"accepted":1`, "key", `"` + opsWriteKey + `"`, ""},
		"POST /api/sources/": {ops.URL, 64 << 10, `{"name":"decode-test","origins":[]}`, `"name":"decode-test"`, "name", `"other"`, ""},
		"PATCH /api/sources/{id}/": {ops.URL, 64 << 10, `{"origins":["https://a.example"]}`, `"origins":["https://a.example"]`,
			"origins", `[]`, "/api/sources/src_ops/"},
		"PUT /api/plan/": {ops.URL, maxPlanBody, `{"entries":[{"event_type":"decode_test","schema":true}]}`, `"event_type":"decode_test"`,
			"entries", `[]`, ""},
		"POST /api/insights/funnel/": {ops.URL, maxFunnelBody, `{"steps":[{"event_type":"a"},{"event_type":"b","filters":[{"field":"page","op":"is_set"}]}],"window":"1h"}`,
			`"window_seconds":3600`, "window", `"2h"`, ""},
		"POST /api/insights/saved/": {ops.URL, 16 << 10, `{"name":"decode-test","kind":"trend","query":"type=a"}`, `"name":"decode-test"`,
			"name", `"other"`, ""},
		"PATCH /api/insights/saved/{id}/": {ops.URL, 16 << 10, `{"name":"decode-test"}`, `"name":"decode-test"`,
			"name", `"other"`, "/api/insights/saved/" + savedID + "/"},
		"POST /api/alerts/rules/": {ops.URL, 16 << 10, `{"name":"decode-test","signal":"consumers","op":"below","threshold":1}`,
			`"name":"decode-test"`, "name", `"other"`, ""},
		"PUT /api/alerts/rules/{id}/": {ops.URL, 16 << 10, `{"name":"decode-test","signal":"consumers","op":"below","threshold":1}`,
			`"name":"decode-test"`, "name", `"other"`, "/api/alerts/rules/" + alertID + "/"},
		"PUT /api/alerts/rules/{id}/silence/": {ops.URL, 4 << 10, `{"for":"1h"}`, `"silenced_until":"`, "for", `"2h"`,
			"/api/alerts/rules/" + alertID + "/silence/"},
		"POST /api/insights/rollup-keys/": {ops.URL, 1 << 10, `{"key":"decode_test"}`, `"key":"decode_test"`, "key", `"other"`, ""},
		"PUT /api/plan/types/{event_type}/": {ops.URL, 80 << 10, `{"schema":{"type":"object"}}`, `"event_type":"decode_test"`,
			"schema", `true`, "/api/plan/types/decode_test/"},
		"POST /api/auth/login/": {ops.URL, 4 << 10, `{"email":"decode@example.com","password":"correct horse"}`, `"csrf_token":"`,
			"email", `"other@example.com"`, ""},
		"POST /api/auth/logout/": {ops.URL, 1 << 10, `{"everywhere":false}`, ``, "everywhere", `true`, ""},
		"POST /api/accounts/": {ops.URL, 4 << 10, `{"email":"decode2@example.com","role":"viewer","password":"correct horse"}`,
			`"email":"decode2@example.com"`, "role", `"admin"`, ""},
		"PATCH /api/accounts/{id}/": {ops.URL, 4 << 10, `{"role":"admin"}`, `"role":"admin"`, "role", `"viewer"`, "/api/accounts/" + acct.ID + "/"},
		"POST /api/tokens/":         {ops.URL, 4 << 10, `{"name":"decode-test","role":"viewer"}`, `"name":"decode-test"`, "name", `"other"`, ""},
		"PUT /api/privacy/fields/":  {ops.URL, 16 << 10, `{"fields":["user_id"]}`, `"fields":["user_id"]`, "fields", `[]`, ""},
		"POST /api/privacy/erase/":  {ops.URL, 4 << 10, `{"user_id":"decode-test"}`, `"user_hash":"`, "user_id", `"other"`, ""},
	}
	for _, op := range operations() {
		key := op.method + " " + op.path
		if op.body == nil || op.path == "/api/events/create/" {
			continue
		}
		b, ok := bodies[key]
		if !ok {
			t.Errorf("%s takes a JSON body: add it to this test", key)
			continue
		}
		if op.body["additionalProperties"] != false {
			t.Errorf("%s: the OpenAPI body schema does not say that other members are refused", key)
		}
		method, path, _ := strings.Cut(key, " ")
		if b.at != "" {
			path = b.at
		}
		open := strings.TrimSuffix(b.base, "}")
		token := ""
		if b.url == ops.URL {
			token = admin
		}
		for _, tc := range []struct {
			name, body string
			status     int
			want       string
		}{
			{"member twice", open + `,"` + b.member + `":` + b.value + `}`, 400, b.member + ": member appears more than once"},
			{"unknown member", open + `,"extra":1}`, 400, "extra: unknown member"},
			{"wrong case", strings.Replace(b.base, `"`+b.member+`"`, `"`+strings.ToUpper(b.member)+`"`, 1), 400, strings.ToUpper(b.member) + ": unknown member"},
			{"data after the object", b.base + ` {}`, 400, "data after the object"},
			{"garbage after the object", b.base + `]`, 400, "data after the object"},
			{"null", `null`, 400, "expected an object"},
			{"empty", ``, 400, "expected an object"},
			{"over the limit", b.base + strings.Repeat(" ", b.limit), 413, "over the limit"},
		} {
			t.Run(key+"/"+tc.name, func(t *testing.T) {
				code, raw := send(t, method, b.url+path, "application/json", tc.body, token)
				if key == "POST /api/auth/logout/" && tc.name == "empty" {
					// Signing out needs no body: curl -X POST will do.
					tc.status, tc.want = http.StatusNoContent, ""
					if code != tc.status {
						t.Fatalf("%d %s, want %d", code, raw, tc.status)
					}
					return
				}
				if code != tc.status || !strings.Contains(raw, `"error":`) || !strings.Contains(raw, tc.want) {
					t.Fatalf("%d %s, want %d naming %q", code, raw, tc.status, tc.want)
				}
			})
		}
		if code, raw := send(t, method, b.url+path, "application/json", b.base, token); !strings.Contains(raw, b.decoded) {
			t.Errorf("%s: the base body is not decoded: %d %s", key, code, raw)
		}
	}
	if n := env.producer.calls.Load(); n != 1 {
		t.Errorf("the producer was called %d times, want once, for the one good batch", n)
	}
}

// TestBatchForms: NDJSON and a single event still work beside the strict
// wrapper, and each event of a stream is checked on its own.
func TestBatchForms(t *testing.T) {
	env := newEnv(t, Config{}, nil)
	for _, tc := range []struct {
		name, ct, body string
		status         int
		want           string
	}{
		{"ndjson", "application/x-ndjson", "{\"user_id\":\"u\",\"event_type\":\"a\"}\n{\"user_id\":\"v\",\"event_type\":\"b\"}\n", http.StatusCreated, `"accepted":2`},
		{"ndjson without newlines", "application/x-ndjson", `{"user_id":"u","event_type":"a"}{"user_id":"v","event_type":"b"}`, http.StatusCreated, `"accepted":2`},
		{"one event", "application/json", `{"user_id":"u","event_type":"a"}`, http.StatusCreated, `"accepted":1`},
		{"ndjson member twice", "application/x-ndjson", "{\"user_id\":\"u\",\"event_type\":\"a\"}\n{\"user_id\":\"u\",\"user_id\":\"v\",\"event_type\":\"a\"}", http.StatusBadRequest, "events[1].user_id: appears more than once"},
		{"ndjson garbage", "application/x-ndjson", "{\"user_id\":\"u\",\"event_type\":\"a\"}\nnope", http.StatusBadRequest, "events[1]: invalid JSON"},
		{"wrapper events null", "application/json", `{"events":null}`, http.StatusBadRequest, "events: must be an array of events"},
		{"wrapper events object", "application/json", `{"events":{}}`, http.StatusBadRequest, "events: must be an array, not an object"},
		{"wrapper member before events", "application/json", `{"meta":1,"events":[{"user_id":"u","event_type":"a"}]}`, http.StatusBadRequest, "meta: unknown member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.do("POST", "/api/events/batch/", tc.ct, []byte(tc.body), nil)
			if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
				t.Fatalf("%d %s, want %d with %q", r.status, r.body, tc.status, tc.want)
			}
		})
	}
}
