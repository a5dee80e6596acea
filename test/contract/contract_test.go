// Package contract checks the JSON the Go handlers really write against the
// golden answers in web/src/api/contract/, which the web app's zod schemas
// (web/src/api/schema.ts) are tested against. It starts a real `pulse serve`
// on free ports with a temporary data directory, creates a few events
// (one of them dead-lettered), waits until they are settled and then asks
// every endpoint the web app reads, and the WebSocket for its initial_data.
//
// By default it compares the shape of each answer (the members and JSON
// kinds at every path, see shape) with its golden file and fails naming the
// endpoint and the paths that differ. With -update, or PULSE_UPDATE_CONTRACT=1
// in the environment, it rewrites the golden files instead:
//
//	go test ./test/contract/ -update
//
// A Go payload change thus fails this test until the golden files are
// updated, and then the web test (schema.contract.test.ts) until the
// schemas follow.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// pulseBin is the binary TestMain built.
var pulseBin string

var update = flag.Bool("update", false, "rewrite the golden files in web/src/api/contract/ from the live answers")

func TestMain(m *testing.M) { os.Exit(pulsetest.Main(m, &pulseBin)) }

// goldenDir holds one <name>.json per answer, relative to this package.
const goldenDir = "../../web/src/api/contract"

const adminToken = "contract-admin-token"

// client talks to one `pulse serve`.
type client struct {
	t    *testing.T
	base string
	http http.Client
}

// do sends a request and returns the status and body; admin requests carry
// the Bearer token.
func (c *client) do(method, path, body string, admin bool) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// must sends a request that has to answer status and returns the body.
func (c *client) must(method, path, body string, admin bool, status int) []byte {
	c.t.Helper()
	code, b := c.do(method, path, body, admin)
	if code != status {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, status)
	}
	return b
}

// getJSON GETs path into v.
func (c *client) getJSON(path string, v any) error {
	code, b := c.do("GET", path, "", false)
	if code != 200 {
		return fmt.Errorf("GET %s: %d %s", path, code, b)
	}
	return json.Unmarshal(b, v)
}

// answer is one recorded response.
type answer struct {
	name     string // the golden file is <name>.json
	endpoint string // as the failure names it
	body     []byte
}

// The events the test creates: together they carry every optional field of
// a stored event. failing is dead-lettered after its retries.
var stored = []string{
	`{"user_id":"user_c001","event_type":"button_click","element_id":"button_1","session_id":"s1","page":"/home","properties":{"n":1,"tags":["a"]}}`,
	`{"user_id":"user_c001","event_type":"form_submit","element_id":"message_input","session_id":"s1","message":"hello <b>world</b>"}`,
	`{"user_id":"user_c002","event_type":"page_view","element_id":"nav","page":"/settings","delay_seconds":0.1}`,
	`{"user_id":"user_c002","event_type":"button_click","element_id":"button_2","timestamp":"2026-11-25T10:00:00Z"}`,
}

// collected is a tracker's event, as pulse.js sends it.
const collected = `{"event_id":"0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b","event_type":"page_view","anonymous_id":"anon_c1","session_id":"s_c1","stream_id":"st_c1","seq":1,"page":"https://shop.example/cart","properties":{"title":"Cart"}}`

const failing = `{"user_id":"user_c003","event_type":"button_click","element_id":"button_5","should_fail":true}`

func TestContract(t *testing.T) {
	rewrite := *update || os.Getenv("PULSE_UPDATE_CONTRACT") == "1"
	dir := t.TempDir()
	httpAddr, brokerAddr := pulsetest.FreeAddr(t), pulsetest.FreeAddr(t)
	cmd := exec.Command(pulseBin, "serve", "--addr", httpAddr, "--broker-addr", brokerAddr,
		"--data-dir", dir, "--admin-token", adminToken, "--alerts-interval", "1s",
		"--alerts-allow-net", "127.0.0.1/32")
	cmd.Env = append(append(os.Environ(), "PULSE_LOG_FORMAT=json"), pulsetest.FastRetries...)
	p := pulsetest.Start(t, "serve", cmd)
	p.WaitServing(httpAddr)
	c := &client{t: t, base: "http://" + httpAddr, http: http.Client{Timeout: 15 * time.Second}}

	var answers []answer
	record := func(name, endpoint string, body []byte) {
		answers = append(answers, answer{name, endpoint, body})
	}
	get := func(name, path string) {
		record(name, "GET "+path, c.must("GET", path, "", false, 200))
	}

	// Before any run the load endpoint answers idle.
	get("load_idle", "/api/load/")

	// A source, and a batch of it through the collector: one event kept,
	// one refused with its reason. The stored event carries source_id and
	// anonymous_id into every read below.
	srcBody := c.must("POST", "/api/sources/", `{"name":"shop","origins":["https://shop.example"]}`, true, 201)
	record("source_create", "POST /api/sources/", srcBody)
	var src struct {
		Source struct {
			ID       string `json:"id"`
			WriteKey string `json:"write_key"`
		}
	}
	if err := json.Unmarshal(srcBody, &src); err != nil {
		t.Fatal(err)
	}
	// A tracking plan that knows signup only, and the source held to it
	// in warn mode: the collected page_view below is stored and warned
	// about as an unknown type.
	record("plan_entry", "PUT /api/plan/types/signup/", c.must("PUT", "/api/plan/types/signup/",
		`{"description":"An account made","schema":{"type":"object","required":["plan"],"properties":{"plan":{"enum":["free","pro"]}}}}`, true, 200))
	record("source_update", "PATCH /api/sources/{id}/", c.must("PATCH", "/api/sources/"+src.Source.ID+"/", `{"settings":{"plan":"warn"}}`, true, 200))
	record("collect", "POST /api/collect", c.must("POST", "/api/collect", `{"key":"`+src.Source.WriteKey+`","sent_at":"`+
		time.Now().UTC().Format(time.RFC3339Nano)+`","events":[`+collected+`,{"event_type":"page_view"}]}`, false, 200))

	var created []string
	for i, body := range append(append([]string(nil), stored...), failing) {
		b := c.must("POST", "/api/events/create/", body, false, 201)
		if i == 0 {
			record("create_event", "POST /api/events/create/", b)
		}
		var r struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.EventID == "" {
			t.Fatalf("create: %s: %v", b, err)
		}
		created = append(created, r.EventID)
	}
	failedID := created[len(created)-1]
	waitSettled(t, c, len(stored)+1)
	pulsetest.WaitFor(t, 10*time.Second, "the collector's ledger counts written", func() error {
		var l struct{ Totals []struct{ Received int } }
		if err := c.getJSON("/api/ledger/?range=15m", &l); err != nil {
			return err
		}
		if len(l.Totals) == 0 || l.Totals[0].Received == 0 {
			return errors.New("no received count yet")
		}
		return nil
	})

	get("latest_events", "/api/events/latest/?limit=50")
	get("queue_messages", "/api/queue/messages/?limit=50")
	get("queue_stats", "/api/queue/stats/")
	get("health", "/api/health/")
	get("consumer_metrics", "/api/consumer_metrics/")
	get("consumers", "/api/consumers/")
	get("consumers_history", "/api/consumers/history/")
	get("ordering", "/api/ordering/")
	get("series", "/api/series/?range=15m")
	get("sources", "/api/sources/")
	get("ledger", "/api/ledger/?range=15m")
	get("plan", "/api/plan/")
	get("plan_warnings", "/api/plan/warnings/?range=1h")
	get("trend", "/api/insights/trend/?range=1h")
	// Four pages (one of them none) in the range: with a limit of 2, the
	// rest is (other).
	get("trend_breakdown", "/api/insights/trend/?range=24h&breakdown=page&limit=2&compare=previous")
	// Distinct users of the events with a session, by a property: user_c001
	// has events with it and without, as the tracker's visitor has.
	get("trend_users", "/api/insights/trend/?range=30d&measure=users&breakdown=properties.n&filter=session_id:is_set")
	// The property n kept in the rollups (the list may show it filling
	// or filled: its shape is the same).
	record("rollup_key_add", "POST /api/insights/rollup-keys/", c.must("POST", "/api/insights/rollup-keys/", `{"key":"n"}`, true, 201))
	get("rollup_keys", "/api/insights/rollup-keys/")
	// Users by type and day, from the sketches: an estimate.
	get("trend_sketch", "/api/insights/trend/?range=7d&measure=users&breakdown=event_type")
	// Both users clicked; one then submitted the form. The breakdown by
	// page keeps one value and (other).
	funnel := `{"steps":[{"event_type":"button_click","filters":[{"field":"element_id","op":"in","values":["button_1","button_2"]}]},{"event_type":"form_submit"}],"window":"1h","range":"30d"`
	record("funnel", "POST /api/insights/funnel/", c.must("POST", "/api/insights/funnel/", funnel+`}`, false, 200))
	record("funnel_breakdown", "POST /api/insights/funnel/", c.must("POST", "/api/insights/funnel/", funnel+`,"breakdown":"page","limit":1}`, false, 200))
	get("retention", "/api/insights/retention/?period=day&range=14d")
	get("live", "/api/insights/live/")
	// user_c001's two events of session s1, one with a page.
	get("user", "/api/users/user_c001/")
	get("dlq", "/api/dlq/?limit=1000")
	// Two of four stored events per page: the first page has a cursor.
	get("events_page", "/api/events/?limit=2")
	get("timeline_stored", "/api/messages/"+created[0]+"/")
	get("timeline_dead_lettered", "/api/messages/"+failedID+"/")
	record("ws_initial_data", "WebSocket /ws/events/ initial_data", initialData(t, httpAddr))

	// An alert rule that fires at once (three consumers run, fewer than
	// five), notified to a local receiver: its state and its history
	// with a delivery attempt.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer hook.Close()
	record("alert_rule_create", "POST /api/alerts/rules/", c.must("POST", "/api/alerts/rules/",
		`{"name":"Consumers gone","signal":"consumers","op":"below","threshold":5,"for":"0s","repeat":"1h","webhook_url":"`+hook.URL+`/hook"}`, true, 201))
	pulsetest.WaitFor(t, 20*time.Second, "the alert rule fired and notified", func() error {
		var h struct{ Events []struct{ Status string } }
		if err := c.getJSON("/api/alerts/history/", &h); err != nil {
			return err
		}
		if len(h.Events) == 0 || h.Events[0].Status != "delivered" {
			return fmt.Errorf("history %+v", h)
		}
		return nil
	})
	get("alert_rules", "/api/alerts/rules/")
	get("alert_history", "/api/alerts/history/")

	record("dlq_replay_dry_run", "POST /api/dlq/replay/",
		c.must("POST", "/api/dlq/replay/", `{"all":true,"dry_run":true}`, true, 200))
	record("rewind_dry_run", "POST /api/consumers/rewind/",
		c.must("POST", "/api/consumers/rewind/", `{"to":"earliest","partitions":[0,1],"dry_run":true}`, true, 200))
	// To latest, where the group is: applied, and nothing to move.
	record("rewind", "POST /api/consumers/rewind/",
		c.must("POST", "/api/consumers/rewind/", `{"to":"latest"}`, true, 200))
	// A slow run, stopped at once, that adds nothing the reads above see.
	record("load_start", "POST /api/load/", c.must("POST", "/api/load/",
		`{"events_per_second":2,"duration_seconds":60,"failure_rate":0,"delay_rate":0,"mix":{"page_view":1}}`, true, 201))
	get("load_running", "/api/load/")
	record("load_stop", "DELETE /api/load/", c.must("DELETE", "/api/load/", "", true, 200))
	get("load_runs", "/api/load/runs/")

	// Accounts last: the first one closes the loopback server to the
	// reads above, which carry no token.
	get("me_open", "/api/auth/me/")
	get("providers", "/api/auth/providers/")
	record("account_add", "POST /api/accounts/", c.must("POST", "/api/accounts/",
		`{"email":"ada@example.com","role":"admin","password":"contract horse"}`, true, 201))
	record("me_admin_token", "GET /api/auth/me/", c.must("GET", "/api/auth/me/", "", true, 200))
	record("accounts", "GET /api/accounts/", c.must("GET", "/api/accounts/", "", true, 200))
	record("login", "POST /api/auth/login/", c.must("POST", "/api/auth/login/",
		`{"email":"ada@example.com","password":"contract horse"}`, false, 200))
	record("token_create", "POST /api/tokens/", c.must("POST", "/api/tokens/",
		`{"name":"ci","role":"viewer","expires_in":"30d"}`, true, 201))
	record("tokens", "GET /api/tokens/", c.must("GET", "/api/tokens/", "", true, 200))
	record("audit", "GET /api/audit/", c.must("GET", "/api/audit/?limit=3", "", true, 200))
	record("privacy_fields", "GET /api/privacy/fields/", c.must("GET", "/api/privacy/fields/", "", true, 200))
	// Last: the erasure changes what the reads above would see.
	record("privacy_erase", "POST /api/privacy/erase/", c.must("POST", "/api/privacy/erase/", `{"user_id":"user_c001"}`, true, 200))
	record("privacy_erased", "GET /api/privacy/erased/", c.must("GET", "/api/privacy/erased/", "", true, 200))

	if rewrite {
		writeGolden(t, answers)
		return
	}
	for _, a := range answers {
		compareGolden(t, a)
	}
	// A golden file no answer produces is stale: the web test would keep
	// checking a payload nobody serves.
	names := map[string]bool{}
	for _, a := range answers {
		names[a.name+".json"] = true
	}
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	for _, f := range files {
		if !names[filepath.Base(f)] {
			t.Errorf("%s: no endpoint of this test writes it; delete it or record it", f)
		}
	}
}

// waitSettled waits until the stored events are stored, the failing one is
// in the DLQ, nothing is in flight and the group has committed everything,
// so that the answers do not depend on timing.
func waitSettled(t *testing.T, c *client, nStored int) {
	t.Helper()
	pulsetest.WaitFor(t, 90*time.Second, "events stored, one dead-lettered, nothing in flight", func() error {
		var q struct {
			Queued, Processing, Retrying, Completed int
			DeadLettered                            int `json:"dead_lettered"`
		}
		if err := c.getJSON("/api/queue/stats/", &q); err != nil {
			return err
		}
		if q.Completed < nStored || q.DeadLettered < 1 || q.Queued+q.Processing+q.Retrying > 0 {
			return fmt.Errorf("queue %+v", q)
		}
		var dlq struct{ Total int }
		if err := c.getJSON("/api/dlq/", &dlq); err != nil {
			return err
		}
		if dlq.Total < 1 {
			return errors.New("DLQ empty")
		}
		var cons struct {
			TotalLag int `json:"total_lag"`
			State    string
			Members  []struct {
				Local        bool
				LastCommitAt *string `json:"last_commit_at"`
			}
		}
		if err := c.getJSON("/api/consumers/", &cons); err != nil {
			return err
		}
		if cons.TotalLag != 0 || cons.State != "Stable" || len(cons.Members) == 0 {
			return fmt.Errorf("group %s with %d members, lag %d", cons.State, len(cons.Members), cons.TotalLag)
		}
		// The golden answers hold a member that has committed beside ones
		// that have not (the events' keys all hash to one partition): a
		// state reached once the first commit is in, not before it.
		committed := false
		for _, m := range cons.Members {
			committed = committed || m.LastCommitAt != nil
		}
		if !committed {
			return errors.New("no member has committed yet")
		}
		var hist struct{ Points []json.RawMessage }
		if err := c.getJSON("/api/consumers/history/", &hist); err != nil {
			return err
		}
		if len(hist.Points) == 0 {
			return errors.New("no lag history point yet")
		}
		// The events' 10 s step must be complete for the series to hold
		// them (and latency figures, not only nulls).
		var ser struct{ Events map[string][]int }
		if err := c.getJSON("/api/series/", &ser); err != nil {
			return err
		}
		if len(ser.Events) == 0 {
			return errors.New("no step of the series holds the events yet")
		}
		return nil
	})
}

// initialData returns the first frame of a WebSocket to /ws/events/, which
// must be initial_data.
func initialData(t *testing.T, addr string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/events/", nil)
	if err != nil {
		t.Fatalf("WebSocket: %v", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(8 << 20)
	_, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("WebSocket: first frame: %v", err)
	}
	var f struct{ Type string }
	if err := json.Unmarshal(b, &f); err != nil || f.Type != "initial_data" {
		t.Fatalf("WebSocket: first frame is not initial_data: %.200s", b)
	}
	return b
}

func goldenPath(name string) string { return filepath.Join(goldenDir, name+".json") }

// writeGolden writes every answer, indented, to its golden file.
func writeGolden(t *testing.T, answers []answer) {
	t.Helper()
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		var out bytes.Buffer
		if err := json.Indent(&out, a.body, "", "  "); err != nil {
			t.Fatalf("%s: answer is not JSON: %v\n%.300s", a.endpoint, err, a.body)
		}
		out.WriteByte('\n')
		if err := os.WriteFile(goldenPath(a.name), out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%s)", goldenPath(a.name), a.endpoint)
	}
}

// compareGolden fails when the answer's shape differs from its golden
// file's, or the golden file is missing or empty.
func compareGolden(t *testing.T, a answer) {
	t.Helper()
	g, err := os.ReadFile(goldenPath(a.name))
	if err != nil {
		t.Errorf("%s: no golden file (%v); run go test ./test/contract/ -update", a.endpoint, err)
		return
	}
	if len(bytes.TrimSpace(g)) == 0 {
		t.Errorf("%s: golden file %s is empty; run go test ./test/contract/ -update", a.endpoint, goldenPath(a.name))
		return
	}
	want, err := shapeOf(g)
	if err != nil {
		t.Errorf("%s: golden file %s: %v", a.endpoint, goldenPath(a.name), err)
		return
	}
	got, err := shapeOf(a.body)
	if err != nil {
		t.Errorf("%s: answer: %v\n%.300s", a.endpoint, err, a.body)
		return
	}
	if d := diff(want, got); len(d) > 0 {
		t.Errorf("%s: the answer's shape differs from %s (update it with -update, then the web schema):\n  %s",
			a.endpoint, goldenPath(a.name), strings.Join(d, "\n  "))
	}
}
