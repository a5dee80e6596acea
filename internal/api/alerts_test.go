package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/alerts"
	"github.com/pulse-dev/pulse/internal/auth"
)

// Alert rules over the API: added, listed, replaced, silenced, deleted;
// every bad body a 400 naming the field, an unknown id a 404; a viewer
// reads them with the webhook's URL cut to its host and cannot change
// them.
func TestAlertRulesOverTheAPI(t *testing.T) {
	srv, _, a := authServer(t, Config{Loopback: true})
	var viewer, operator string
	for _, c := range credentials(t, a) {
		if c.token != "" && c.role == auth.Viewer {
			viewer = c.token
		}
		if c.token != "" && c.role == auth.Operator {
			operator = c.token
		}
	}
	base := srv.URL + "/api/alerts/rules/"
	const ct = "application/json"
	hook := "https://hooks.example.com/services/T000/B000/secret"

	code, raw := send(t, "POST", base, ct, `{"name":" Lag ","signal":"lag_seconds","op":"above","threshold":5,"for":"1m",
		"hysteresis":1,"repeat":"30m","webhook_url":"`+hook+`","webhook_format":"slack"}`, operator)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, raw)
	}
	var created struct{ Rule alerts.RuleView }
	if err := json.Unmarshal([]byte(raw), &created); err != nil {
		t.Fatal(err)
	}
	r := created.Rule
	if !strings.HasPrefix(r.ID, "alr_") || r.Name != "Lag" || !r.Enabled || r.For.D() != time.Minute || r.State != "ok" ||
		r.Source != "api" || r.WebhookURL != hook || !strings.Contains(raw, `"for":"1m0s"`) {
		t.Fatalf("created %s", raw)
	}
	if code, raw := send(t, "POST", base, ct, `{"name":"x","signal":"consumers","op":"below","threshold":1}`, viewer); code != http.StatusForbidden {
		t.Fatalf("a viewer created a rule: %d %s", code, raw)
	}
	code, raw = send(t, "GET", base, "", "", viewer)
	if code != http.StatusOK || strings.Contains(raw, "secret") || !strings.Contains(raw, `"webhook_url":"https://hooks.example.com/…"`) ||
		!strings.Contains(raw, `"signals":["lag_seconds"`) {
		t.Fatalf("viewer's list: %d %s", code, raw)
	}
	if _, raw := send(t, "GET", base, "", "", operator); !strings.Contains(raw, hook) {
		t.Fatalf("operator's list hides the URL: %s", raw)
	}

	code, raw = send(t, "PUT", base+r.ID+"/", ct, `{"name":"Lag","signal":"lag_seconds","op":"above","threshold":10,"enabled":false}`, operator)
	if code != http.StatusOK || !strings.Contains(raw, `"threshold":10`) || !strings.Contains(raw, `"enabled":false`) || !strings.Contains(raw, `"webhook_url":""`) {
		t.Fatalf("replace: %d %s", code, raw)
	}
	code, raw = send(t, "PUT", base+r.ID+"/silence/", ct, `{"for":"2h"}`, operator)
	if code != http.StatusOK || !strings.Contains(raw, `"silenced_until":"`) {
		t.Fatalf("silence: %d %s", code, raw)
	}
	code, raw = send(t, "PUT", base+r.ID+"/silence/", ct, `{"until":null}`, operator)
	if code != http.StatusOK || !strings.Contains(raw, `"silenced_until":null`) {
		t.Fatalf("lift the silence: %d %s", code, raw)
	}

	valid := `"name":"x","signal":"dlq_rate","op":"above","threshold":1`
	for body, want := range map[string]string{
		`{"signal":"consumers","op":"below","threshold":1}`:                             "name: required",
		`{"name":"x","signal":"cpu","op":"below"}`:                                      "signal: must be one of",
		`{"name":"x","signal":"consumers","op":"under"}`:                                `op: must be above or below, not \"under\"`,
		`{"name":"x","signal":"consumers","op":"below","threshold":-1}`:                 "threshold: must be a number from 0",
		`{` + valid + `,"window":"90s"}`:                                                "window: must be whole minutes",
		`{` + valid + `,"window":"soon"}`:                                               `window: a duration is a string such as`,
		`{` + valid + `,"for":"48h"}`:                                                   "for: must be from 0 to 24h0m0s",
		`{` + valid + `,"repeat":"10s"}`:                                                "repeat: must be 0",
		`{` + valid + `,"webhook_url":"file:///etc/passwd"}`:                            "webhook_url: must be an http or https URL",
		`{` + valid + `,"webhook_format":"teams"}`:                                      "webhook_format: must be json or slack",
		`{` + valid + `,"webhook_url":"http://169.254.169.254/latest/meta-data/"}`:      "webhook_url: 169.254.169.254 is a link-local (cloud metadata) address, which webhooks may not reach (allow it with --alerts-allow-net",
		`{` + valid + `,"hysteresis":2}`:                                                "hysteresis: 2 is more than the threshold 1",
		`{` + valid + `,"event_type":"signup"}`:                                         "event_type: only an event_count rule",
		`{"name":"x","signal":"event_count","op":"below","compare":"yesterday"}`:        "compare: must be value or previous_period",
		`{"name":"x","signal":"event_count","op":"below","event_type":"Sign Up"}`:       "event_type: must match",
		`{` + valid + `,"id":"alr_mine"}`:                                               "id: unknown member",
		`{` + valid + `,"severity":"high"}`:                                             "severity: unknown member",
		`{"name":"` + strings.Repeat("é", 101) + `","signal":"consumers","op":"below"}`: "name: at most 100 characters",
	} {
		code, raw := send(t, "POST", base, ct, body, operator)
		if code != http.StatusBadRequest || !strings.Contains(raw, want) {
			t.Errorf("create %.70s: %d %s, want 400 with %q", body, code, raw, want)
		}
	}
	for _, tc := range []struct{ body, want string }{
		{`{"for":"soon"}`, `for: a positive duration`},
		{`{"until":"2001-01-01T00:00:00Z"}`, "until: 2001-01-01T00:00:00Z is past"},
		{`{"for":"2000h"}`, "until: at most 30 days"},
		{`{"for":"1h","until":"2999-01-01T00:00:00Z"}`, "give one of them"},
	} {
		code, raw := send(t, "PUT", base+r.ID+"/silence/", ct, tc.body, operator)
		if code != http.StatusBadRequest || !strings.Contains(raw, tc.want) {
			t.Errorf("silence %s: %d %s, want 400 with %q", tc.body, code, raw, tc.want)
		}
	}
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "alr_nope/", `{` + valid + `}`},
		{"DELETE", "alr_nope/", ""},
		{"PUT", "alr_nope/silence/", `{"for":"1h"}`},
	} {
		if code, raw := send(t, tc.method, base+tc.path, ct, tc.body, operator); code != http.StatusNotFound || !strings.Contains(raw, `no alert rule with id \"alr_nope\"`) {
			t.Errorf("%s %s: %d %s, want 404", tc.method, tc.path, code, raw)
		}
	}
	for q, want := range map[string]string{"limit=0": "limit:", "limit=x": "limit:", "before=-1": "before:"} {
		if code, raw := send(t, "GET", srv.URL+"/api/alerts/history/?"+q, "", "", viewer); code != http.StatusBadRequest || !strings.Contains(raw, want) {
			t.Errorf("history ?%s: %d %s", q, code, raw)
		}
	}
	if code, raw := send(t, "GET", srv.URL+"/api/alerts/history/", "", "", viewer); code != http.StatusOK || raw != `{"events":[],"next_before":null}`+"\n" {
		t.Fatalf("empty history: %d %q", code, raw)
	}

	if code, raw := send(t, "DELETE", base+r.ID+"/", "", "", operator); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, raw)
	}
	if _, raw := send(t, "GET", base, "", "", viewer); !strings.Contains(raw, `"rules":[]`) {
		t.Fatalf("after delete: %s", raw)
	}
}
