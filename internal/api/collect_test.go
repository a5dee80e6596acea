package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/collect"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/sources"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// collectEnv is a server with the collector and the sources, and one
// source, shop, allowed from https://shop.example.
type collectEnv struct {
	*testEnv
	collector *collect.Collector
	shop      store.Source
}

func newCollectEnv(t *testing.T, cfg Config, ui fstest.MapFS) *collectEnv {
	t.Helper()
	ce := &collectEnv{}
	// httptest listens on loopback: admin actions need no token there.
	cfg.Loopback = cfg.AdminToken == ""
	ce.testEnv = newEnvWith(t, cfg, ui, func(d *Deps, p *kgoProducer, db *sqlite.DB, reg *prometheus.Registry) {
		rules := plan.NewRegistry(db, nil)
		if err := rules.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		ce.collector = collect.New(p, db, rules, nil, reg)
		d.Collector = ce.collector
		d.SourceKeys, d.Sources, d.Ledger = sources.NewRegistry(db, nil), db, db
		d.Plan, d.PlanRules = db, rules
	})
	r := ce.post("/api/sources/", `{"name":"shop","origins":["https://shop.example"]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create source: %d %s", r.status, r.body)
	}
	var created struct{ Source store.Source }
	r.json(t, &created)
	ce.shop = created.Source
	return ce
}

func (ce *collectEnv) collect(body string, header http.Header) response {
	ce.t.Helper()
	return ce.do("POST", "/api/collect", "text/plain;charset=UTF-8", []byte(body), header)
}

func tracked(key string, events ...string) string {
	return fmt.Sprintf(`{"key":%q,"sent_at":%q,"events":[%s]}`, key, time.Now().UTC().Format(time.RFC3339Nano), strings.Join(events, ","))
}

func pageView(id string, seq int) string {
	return fmt.Sprintf(`{"event_id":%q,"event_type":"page_view","anonymous_id":"anon-1","session_id":"s1","stream_id":"st1","seq":%d,"page":"https://shop.example/"}`, id, seq)
}

// topicRecords reads every record of the events topic.
func (e *testEnv) topicRecords(want int) []*kgo.Record {
	e.t.Helper()
	cons, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cons.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want && ctx.Err() == nil {
		cons.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	if len(out) != want {
		e.t.Fatalf("%d records on the topic, want %d", len(out), want)
	}
	return out
}

func TestCollectAcceptsTheTrackersBatches(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	origin := http.Header{"Origin": {"https://shop.example"}}
	r := ce.collect(tracked(ce.shop.WriteKey, pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a01", 1), `{"event_type":"Nope","anonymous_id":"a"}`, pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a02", 2)), origin)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
		t.Fatalf("Access-Control-Allow-Origin %q", got)
	}
	var res collect.Result
	r.json(t, &res)
	if res.Accepted != 2 || len(res.Rejected) != 1 || res.Rejected[0].Field != "events[1].event_type" {
		t.Fatalf("result %s", r.body)
	}
	recs := ce.topicRecords(2)
	for _, rec := range recs {
		e, err := event.Decode(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		if e.SourceID != ce.shop.ID || e.UserID != "anon-1" {
			t.Fatalf("event %+v", e)
		}
	}
	// The key may come in the query instead, and a server (no Origin) may
	// send too.
	r = ce.collect(`{"events":[`+pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a03", 3)+`]}`, nil)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("no key: %d %s", r.status, r.body)
	}
	r = ce.do("POST", "/api/collect/?key="+ce.shop.WriteKey, "application/json", []byte(`{"events":[`+pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a03", 3)+`]}`), nil)
	if r.status != http.StatusOK {
		t.Fatalf("key in the query: %d %s", r.status, r.body)
	}
}

func TestCollectRefusesWithAReason(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	good := pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a01", 1)
	many := make([]string, collect.MaxEvents+1)
	for i := range many {
		many[i] = `{"event_type":"page_view","anonymous_id":"a"}`
	}
	for _, tc := range []struct {
		name, contentType, body string
		header                  http.Header
		status                  int
		says                    string
	}{
		{"unknown key", "text/plain", tracked("pk_nope", good), nil, 401, "no source has this write key"},
		{"foreign origin", "text/plain", tracked(ce.shop.WriteKey, good), http.Header{"Origin": {"https://evil.example"}}, 403, "origin https://evil.example may not send"},
		{"lookalike origin", "text/plain", tracked(ce.shop.WriteKey, good), http.Header{"Origin": {"https://shop.example.evil.example"}}, 403, "may not send"},
		{"form post", "application/x-www-form-urlencoded", tracked(ce.shop.WriteKey, good), nil, 415, "Content-Type must be"},
		{"too many events", "text/plain", tracked(ce.shop.WriteKey, many...), nil, 413, "over the limit of 100"},
		{"too large", "text/plain", `{"key":"` + ce.shop.WriteKey + `","events":[{"event_type":"page_view","anonymous_id":"a","message":"` + strings.Repeat("x", collect.MaxBody) + `"}]}`, nil, 413, "over the limit"},
		{"no events", "text/plain", `{"key":"` + ce.shop.WriteKey + `","events":[]}`, nil, 400, "events: must hold at least one event"},
		{"unknown member", "text/plain", `{"key":"` + ce.shop.WriteKey + `","evnts":[]}`, nil, 400, "evnts"},
		{"bad sent_at", "text/plain", `{"key":"` + ce.shop.WriteKey + `","sent_at":"yesterday","events":[` + good + `]}`, nil, 400, "sent_at"},
		{"negative dropped", "text/plain", `{"key":"` + ce.shop.WriteKey + `","dropped":-1,"events":[` + good + `]}`, nil, 400, "dropped"},
		{"not JSON", "text/plain", `key=x`, nil, 400, "invalid JSON"},
		{"every event bad", "text/plain", tracked(ce.shop.WriteKey, `{"event_type":"page_view"}`), nil, 400, "no event accepted: events[0].user_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ce.do("POST", "/api/collect", tc.contentType, []byte(tc.body), tc.header)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if msg := r.errorText(t); !strings.Contains(msg, tc.says) {
				t.Fatalf("error %q does not say %q", msg, tc.says)
			}
			if o := tc.header.Get("Origin"); o != "" && r.header.Get("Access-Control-Allow-Origin") != o {
				t.Fatal("a refusal the browser cannot read looks like a network failure to the tracker, which retries it")
			}
		})
	}
	if n := ce.producer.calls.Load(); n != 0 {
		t.Fatalf("%d produce calls for refused requests", n)
	}
}

func TestCollectPreflightAndCORSLeaveTheRestAlone(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	r := ce.do("OPTIONS", "/api/collect", "", nil, http.Header{"Origin": {"https://anywhere.example"}, "Access-Control-Request-Method": {"POST"}})
	if r.status != http.StatusNoContent || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	// The rest of the API still refuses foreign origins.
	r = ce.do("OPTIONS", "/api/events/create/", "", nil, http.Header{"Origin": {"https://anywhere.example"}, "Access-Control-Request-Method": {"POST"}})
	if r.status != http.StatusForbidden {
		t.Fatalf("preflight to the ingest API from a foreign origin: %d", r.status)
	}
}

func TestCollectRevokedKeyIsRefusedAtOnce(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	good := pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a01", 1)
	if r := ce.collect(tracked(ce.shop.WriteKey, good), nil); r.status != http.StatusOK {
		t.Fatalf("before: %d %s", r.status, r.body)
	}
	if r := ce.do("DELETE", "/api/sources/"+ce.shop.ID+"/", "", nil, nil); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := ce.collect(tracked(ce.shop.WriteKey, good), nil); r.status != http.StatusUnauthorized {
		t.Fatalf("after revoking: %d %s", r.status, r.body)
	}
}

func TestCollectRateLimits(t *testing.T) {
	ce := newCollectEnv(t, Config{CollectClientRate: 1}, nil)
	var last response
	for i := range 3 {
		last = ce.collect(tracked(ce.shop.WriteKey, pageView(fmt.Sprintf("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a%02d", i), i+1)), nil)
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("third request in a second at 1/s (burst 2): %d Retry-After %q", last.status, last.header.Get("Retry-After"))
	}

	ce = newCollectEnv(t, Config{CollectKeyRate: 1}, nil)
	for i := range 3 {
		// No per-client limit here: the key's own.
		last = ce.collect(tracked(ce.shop.WriteKey, pageView(fmt.Sprintf("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a%02d", i), i+1)), nil)
	}
	if last.status != http.StatusTooManyRequests || !strings.Contains(last.errorText(t), "for source shop") {
		t.Fatalf("third request for one key at 1/s: %d %s", last.status, last.body)
	}
}

func TestCollectHonoursDoNotTrackWhenTheSourceSaysSo(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	r := ce.post("/api/sources/", `{"name":"private","origins":[],"settings":{"respect_dnt":true}}`)
	var created struct{ Source store.Source }
	r.json(t, &created)
	for _, h := range []http.Header{{"Dnt": {"1"}}, {"Sec-Gpc": {"1"}}} {
		r = ce.collect(tracked(created.Source.WriteKey, pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a01", 1)), h)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"dnt_dropped":1`) {
			t.Fatalf("%v: %d %s", h, r.status, r.body)
		}
	}
	// shop does not respect it.
	if r = ce.collect(tracked(ce.shop.WriteKey, pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a01", 1)), http.Header{"Dnt": {"1"}}); r.status != http.StatusOK || strings.Contains(string(r.body), "dnt_dropped") {
		t.Fatalf("shop: %d %s", r.status, r.body)
	}
	if n := ce.producer.calls.Load(); n != 1 {
		t.Fatalf("%d produce calls, want shop's 1", n)
	}
	ce.collector.Flush(t.Context())
	pts, err := ce.db.LedgerSeries(t.Context(), created.Source.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var c ledger.Counts
	for _, p := range pts {
		c.Add(p.Counts)
	}
	if c.DNTDropped != 2 || c.Received != 0 {
		t.Fatalf("ledger %+v", c)
	}
}

func TestCollectWhenKafkaIsDown(t *testing.T) {
	ce := newCollectEnv(t, Config{ProduceTimeout: 500 * time.Millisecond}, nil)
	ce.cluster.Close()
	r := ce.collect(tracked(ce.shop.WriteKey, pageView("0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a01", 1)), nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("%d Retry-After %q: %s", r.status, r.header.Get("Retry-After"), r.body)
	}
}

func TestSourcesAPI(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	for _, tc := range []struct {
		body   string
		status int
		says   string
	}{
		{`{"name":"shop","origins":[]}`, 409, "name: a source named \"shop\" exists"},
		{`{"name":"","origins":[]}`, 400, "name: is required"},
		{`{"name":"x","origins":["https://ok.example","https://bad.example/path"]}`, 400, "origins[1]"},
		{`{"name":"x","origins":["https://ok.example"],"admin":true}`, 400, "admin"},
		{`{"name":"x","origins":[],"settings":{"retention":"10m"}}`, 400, "settings.retention: 10m0s is under the minimum of 1h"},
		{`{"name":"x","origins":[],"settings":{"retention":"4000d"}}`, 400, "settings.retention: 4000d is over the maximum of 3650d"},
		{`{"name":"x","origins":[],"settings":{"retention":"a month"}}`, 400, "retention"},
		{`{"name":"x","origins":[],"settings":{"retention":30}}`, 400, "retention"},
	} {
		r := ce.post("/api/sources/", tc.body)
		if r.status != tc.status || !strings.Contains(r.errorText(t), tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.body, r.status, r.body, tc.status, tc.says)
		}
	}
	r := ce.get("/api/sources/")
	var list struct {
		Sources []store.Source `json:"sources"`
		Tracker struct {
			URLPath   string `json:"url_path"`
			Integrity string `json:"integrity"`
		} `json:"tracker"`
	}
	r.json(t, &list)
	if len(list.Sources) != 1 || list.Sources[0].WriteKey != ce.shop.WriteKey || list.Tracker.URLPath != "/pulse.js" {
		t.Fatalf("list %s", r.body)
	}
	// The privacy settings: set at creation, changed one at a time, and
	// written back as they were given (days when whole days).
	r = ce.post("/api/sources/", `{"name":"blog","origins":[],"settings":{"store_ip":true,"retention":"720h"}}`)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), `"store_ip":true`) || !strings.Contains(string(r.body), `"retention":"30d"`) {
		t.Fatalf("create with store_ip and retention: %d %s", r.status, r.body)
	}
	var blog struct{ Source store.Source }
	r.json(t, &blog)
	for _, tc := range []struct {
		body, says string
		status     int
		want       store.SourceSettings
	}{
		{`{"settings":{"retention":"36h"}}`, "", 200, store.SourceSettings{Plan: "off", StoreIP: true, Retention: store.Age(36 * time.Hour)}},
		{`{"settings":{"store_ip":false}}`, "", 200, store.SourceSettings{Plan: "off", Retention: store.Age(36 * time.Hour)}},
		{`{"settings":{"retention":"59m"}}`, "settings.retention: 59m0s is under the minimum of 1h", 400, store.SourceSettings{}},
		{`{"settings":{"retention":"0s"}}`, "", 200, store.SourceSettings{Plan: "off"}},
	} {
		r := ce.do("PATCH", "/api/sources/"+blog.Source.ID+"/", "application/json", []byte(tc.body), nil)
		if r.status != tc.status || (tc.says != "" && !strings.Contains(r.errorText(t), tc.says)) {
			t.Fatalf("PATCH %s: %d %s, want %d saying %q", tc.body, r.status, r.body, tc.status, tc.says)
		}
		if r.status != 200 {
			continue
		}
		var got struct{ Source store.Source }
		r.json(t, &got)
		if got.Source.Settings != tc.want {
			t.Errorf("PATCH %s: settings %+v, want %+v", tc.body, got.Source.Settings, tc.want)
		}
	}
	if r := ce.do("DELETE", "/api/sources/src_nope/", "", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("revoke unknown: %d", r.status)
	}

	// With sign-in required and no credentials, changes and reads are
	// refused alike.
	exposed := newEnvWith(t, Config{AuthRequired: true}, nil, func(d *Deps, _ *kgoProducer, db *sqlite.DB, _ *prometheus.Registry) {
		d.Sources, d.SourceKeys = db, sources.NewRegistry(db, nil)
	})
	if r := exposed.post("/api/sources/", `{"name":"x","origins":[]}`); r.status != http.StatusUnauthorized {
		t.Fatalf("create without credentials: %d %s", r.status, r.body)
	}
	if r := exposed.get("/api/sources/"); r.status != http.StatusUnauthorized {
		t.Fatalf("list without credentials: %d %s", r.status, r.body)
	}
	withToken := newEnvWith(t, Config{AdminToken: "s3cret"}, nil, func(d *Deps, _ *kgoProducer, db *sqlite.DB, _ *prometheus.Registry) {
		d.Sources, d.SourceKeys = db, sources.NewRegistry(db, nil)
	})
	if r := withToken.post("/api/sources/", `{"name":"x","origins":[]}`); r.status != http.StatusUnauthorized {
		t.Fatalf("create without the token: %d", r.status)
	}
	r = withToken.do("POST", "/api/sources/", "application/json", []byte(`{"name":"x","origins":[]}`), http.Header{"Authorization": {"Bearer s3cret"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create with the token: %d %s", r.status, r.body)
	}
}

func TestTrackerScript(t *testing.T) {
	js := "(()=>{window.pulse=1})();\n"
	ui := fstest.MapFS{"index.html": {Data: []byte("<html></html>")}, "pulse.js": {Data: []byte(js)}}
	ce := newCollectEnv(t, Config{TrackerPath: "/t/p.js"}, ui)
	r := ce.get("/t/p.js")
	if r.status != http.StatusOK || string(r.body) != js {
		t.Fatalf("%d %q", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Fatalf("Content-Type %q", ct)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Cross-Origin-Resource-Policy") != "cross-origin" || r.header.Get("Timing-Allow-Origin") != "*" {
		t.Fatalf("not loadable cross-origin with integrity: %v", r.header)
	}
	// Every page of a site loads it: gzipped for whoever takes gzip,
	// each encoding with its own tag.
	tags := map[string]string{}
	for _, c := range []struct{ accept, encoding string }{
		{"identity", ""}, {"gzip, deflate, br", "gzip"}, {"br;q=1.0, gzip;q=0.8", "gzip"}, {"gzip;q=0", ""}, {"*", "gzip"},
		{"*, gzip;q=0", ""}, {"gzip;q=0.000, *", ""}, {"GZIP; Q=0.5", "gzip"}, {"*;q=0", ""},
	} {
		r := ce.do("GET", "/t/p.js", "", nil, http.Header{"Accept-Encoding": {c.accept}})
		body := r.body
		if r.header.Get("Content-Encoding") != c.encoding || r.header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, Vary %q", c.accept, r.header.Get("Content-Encoding"), r.header.Get("Vary"))
		}
		if c.encoding == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(r.body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if string(body) != js {
			t.Fatalf("Accept-Encoding %q: body %q", c.accept, body)
		}
		tags[c.encoding] = r.header.Get("ETag")
	}
	if tags[""] == tags["gzip"] {
		t.Fatalf("one tag for both encodings: %v", tags)
	}
	for enc, etag := range tags {
		accept := map[string]string{"": "identity", "gzip": "gzip"}[enc]
		if r := ce.do("GET", "/t/p.js", "", nil, http.Header{"If-None-Match": {etag}, "Accept-Encoding": {accept}}); r.status != http.StatusNotModified {
			t.Fatalf("revalidation of the %q encoding: %d", enc, r.status)
		}
	}
	var list struct {
		Tracker struct {
			URLPath   string `json:"url_path"`
			Integrity string `json:"integrity"`
		} `json:"tracker"`
	}
	ce.get("/api/sources/").json(t, &list)
	// sha384 of js, as `openssl dgst -sha384 -binary | base64` gives it.
	if list.Tracker.URLPath != "/t/p.js" || !strings.HasPrefix(list.Tracker.Integrity, "sha384-") || len(list.Tracker.Integrity) != 7+64 {
		t.Fatalf("tracker %+v", list.Tracker)
	}
}

func TestLedgerView(t *testing.T) {
	ce := newCollectEnv(t, Config{}, nil)
	now := time.Now()
	if err := ce.db.AddLedger(t.Context(), []ledger.Point{
		{T: now.Add(-20 * time.Minute), SourceID: ce.shop.ID, Counts: ledger.Counts{Received: 5, Rejected: 1}},
		{T: now.Add(-2 * time.Hour), SourceID: ce.shop.ID, Counts: ledger.Counts{Received: 100}},
		{T: now, SourceID: "src_other", Counts: ledger.Counts{Received: 2}},
	}); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Range       string           `json:"range"`
		StepSeconds int              `json:"step_seconds"`
		Points      []map[string]any `json:"points"`
		Totals      []map[string]any `json:"totals"`
	}
	r := ce.get("/api/ledger/?range=1h&source=" + ce.shop.ID)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r.json(t, &v)
	if v.Range != "1h" || v.StepSeconds != 30 || len(v.Totals) != 1 || v.Totals[0]["received"] != 5.0 || v.Totals[0]["rejected"] != 1.0 || v.Totals[0]["gaps"] != 0.0 {
		t.Fatalf("ledger %s", r.body)
	}
	ce.get("/api/ledger/?range=1h").json(t, &v)
	if len(v.Totals) != 2 {
		t.Fatalf("every source: %+v", v.Totals)
	}
	if r := ce.get("/api/ledger/?range=1y"); r.status != http.StatusBadRequest {
		t.Fatalf("bad range: %d", r.status)
	}
}

// TestCollectStoresTheClientIPOnlyWhenTheSourceSaysSo: by default
// nothing of the client's address reaches Kafka or the stored row; with
// the source's store_ip on, the address the API found through its
// trusted proxy is the event's pulse_client_ip property, stored with
// the rest. A client's own pulse_client_ip is refused either way.
func TestCollectStoresTheClientIPOnlyWhenTheSourceSaysSo(t *testing.T) {
	ce := newCollectEnv(t, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, nil)
	const ip = "203.0.113.77"
	header := http.Header{"Origin": {"https://shop.example"}, "X-Forwarded-For": {ip}}
	view := func(id string, seq int, props string) string {
		return fmt.Sprintf(`{"event_id":%q,"event_type":"page_view","anonymous_id":"anon-1","stream_id":"st1","seq":%d,"page":"https://shop.example/","properties":%s}`, id, seq, props)
	}
	const (
		off = "0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6b01"
		on  = "0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6b02"
		bad = "0193a5b2-7c3d-7e4f-8a1b-2c3d4e5f6b03"
	)
	collectOne := func(event string, accepted int) {
		t.Helper()
		r := ce.collect(tracked(ce.shop.WriteKey, event), header)
		var res collect.Result
		r.json(t, &res)
		if r.status != http.StatusOK || res.Accepted != accepted {
			t.Fatalf("%s: %d %s, want %d accepted", event, r.status, r.body, accepted)
		}
	}
	collectOne(view(off, 1, `{"plan":"pro"}`), 1)
	if r := ce.do("PATCH", "/api/sources/"+ce.shop.ID+"/", "application/json", []byte(`{"settings":{"store_ip":true}}`), nil); r.status != http.StatusOK {
		t.Fatalf("store_ip on: %d %s", r.status, r.body)
	}
	collectOne(view(on, 2, `{"plan":"pro"}`), 1)
	r := ce.collect(tracked(ce.shop.WriteKey, view(bad, 3, `{"pulse_client_ip":"198.51.100.1"}`)), header)
	if !strings.Contains(string(r.body), `"field":"events[0].properties.pulse_client_ip"`) {
		t.Fatalf("a client's own pulse_client_ip: %d %s", r.status, r.body)
	}

	// What reaches Kafka, and the rows the pipeline stores from it.
	for _, rec := range ce.topicRecords(2) {
		e, err := event.Decode(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		whole := string(rec.Key) + string(rec.Value)
		for _, h := range rec.Headers {
			whole += h.Key + string(h.Value)
		}
		if got := strings.Contains(whole, ip); got != (e.EventID == on) {
			t.Errorf("record of %s holds the client's address: %t\n%s", e.EventID, got, whole)
		}
		if _, err := ce.db.Write(t.Context(), []store.Record{{Event: &e, Message: event.Message{EventID: e.EventID,
			EventType: e.EventType, Status: event.StatusCompleted, Source: event.SourceCollect, Topic: rec.Topic,
			Partition: rec.Partition, Offset: rec.Offset, QueuedAt: rec.Timestamp}}}); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := ce.db.LatestEvents(t.Context(), 10)
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored %d events, %v", len(stored), err)
	}
	for _, e := range stored {
		row, _ := json.Marshal(e)
		var props map[string]any
		if err := json.Unmarshal(e.Properties, &props); err != nil {
			t.Fatal(err)
		}
		switch e.EventID {
		case off:
			if strings.Contains(string(row), ip) || props[store.ClientIPProperty] != nil {
				t.Errorf("stored with store_ip off: %s", row)
			}
		case on:
			if props[store.ClientIPProperty] != ip || props["plan"] != "pro" {
				t.Errorf("stored with store_ip on: properties %s", e.Properties)
			}
		}
	}
}
