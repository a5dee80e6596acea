package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/pulse-dev/pulse/internal/alerts"
	"github.com/pulse-dev/pulse/internal/auth"
	"github.com/pulse-dev/pulse/internal/collect"
	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/deadletter"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/load"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/oidc"
	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/sources"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// opsServer serves the API with a real console backend over an
// in-process broker (no consumers: the group is empty).
func opsServer(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	d, reg := opsBackend(t)
	srv := httptest.NewServer(New(cfg, d, nil, reg).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// opsBackend runs the console's real owners over an in-process broker
// and returns the API's dependencies on them.
func opsBackend(t *testing.T) (Deps, *prometheus.Registry) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0),
		kfake.SeedTopics(3, topic), kfake.SeedTopics(3, topic+"_dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	kc := config.Default()
	kc.Kafka.BootstrapServers = strings.Join(cluster.ListenAddrs(), ",")
	reg := prometheus.NewRegistry()
	admin, err := kafka.NewAdmin(kc.Kafka, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	producer, err := kafka.NewProducer(kafka.ProducerConfig{Kafka: kc.Kafka, Name: "ingest"}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { producer.Close() })
	clientOpts, err := kafka.ClientOpts(kc.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	mon, err := monitor.New(monitor.Config{Group: kc.Kafka.Group, Topic: kc.Kafka.Topic, ClientOpts: clientOpts},
		monitor.Deps{Admin: admin, History: db}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := deadletter.New(deadletter.Config{Topic: kc.Kafka.Topic, DLQTopic: kc.Kafka.DLQTopic, ClientOpts: clientOpts, Replays: db},
		admin, producer, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	loads, err := load.New(producer, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{mon.Run, dl.Run, loads.Run} {
		wg.Go(func() { _ = run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	// A source the collector's tests send with, allowed from no browser.
	if err := db.CreateSource(t.Context(), store.Source{ID: "src_ops", Name: "ops", WriteKey: opsWriteKey,
		Origins: []string{}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	keys, rules := sources.NewRegistry(db, nil), plan.NewRegistry(db, nil)
	al, err := alerts.New(alerts.Config{}, alerts.Deps{Store: db, Group: mon, Markers: db}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	return Deps{Alerts: al, Monitor: mon, Rewinder: mon, DeadLetters: dl, Load: loads, Series: db,
		Collector: collect.New(producer, db, rules, nil, reg), SourceKeys: keys, Sources: db, Ledger: db,
		Plan: db, PlanRules: rules, Insights: insights.New(db), Saved: db, Users: db, RollupKeys: db,
		Gatherer: reg, Auth: testAuth(t, db, nil), Audit: db, OIDC: unreachableOIDC(t)}, reg
}

// unreachableOIDC is an OpenID client whose provider cannot be reached:
// its routes are registered, and a sign-in through it is refused.
func unreachableOIDC(t *testing.T) *oidc.Client {
	t.Helper()
	return testOIDC(t, oidc.Config{Issuer: "http://127.0.0.1:1", ClientID: "pulse", RedirectURL: "http://127.0.0.1/api/auth/oidc/callback/",
		Roles: map[string]auth.Role{"*": auth.Viewer}})
}

// opsWriteKey is the write key of opsBackend's source.
const opsWriteKey = "pk_ops_test_key"

func send(t *testing.T, method, url, contentType, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func TestOpsRoutesAbsentWithoutBackend(t *testing.T) {
	srv := httptest.NewServer(New(Config{Loopback: true}, Deps{}, nil, nil).Handler())
	defer srv.Close()
	for _, p := range []string{"/api/consumers/", "/api/dlq/", "/api/load/"} {
		if code, raw := send(t, "GET", srv.URL+p, "", "", ""); code != http.StatusNotFound || !strings.Contains(raw, "no such endpoint") {
			t.Fatalf("GET %s: %d %s", p, code, raw)
		}
	}
}

func TestOpsReadsOnAnEmptyCluster(t *testing.T) {
	srv := opsServer(t, Config{Loopback: true})
	for path, want := range map[string]string{
		"/api/consumers/":         `"group":"dashboard_consumer_group"`,
		"/api/consumers":          `"members":[]`,
		"/api/consumers/history/": `"interval_seconds":5`,
		"/api/ordering/":          `{"held_keys":[],"held_keys_total":0,"partitions":[]}`,
		"/api/dlq/":               `{"total":0,"groups":[]}`,
		"/api/load/":              `{"status":"idle"}`,
	} {
		code, raw := send(t, "GET", srv.URL+path, "", "", "")
		if code != http.StatusOK || !strings.Contains(raw, want) {
			t.Fatalf("GET %s: %d %s, want %s", path, code, raw, want)
		}
	}
	code, raw := send(t, "GET", srv.URL+"/api/consumers/", "", "", "")
	if code != 200 || !strings.Contains(raw, `"state":"Dead"`) || !strings.Contains(raw, `"lag":0`) {
		t.Fatalf("consumers of a group that never ran: %s", raw)
	}
	for _, q := range []string{"limit=0", "limit=x", "limit=10001"} {
		if code, raw := send(t, "GET", srv.URL+"/api/dlq/?"+q, "", "", ""); code != http.StatusBadRequest {
			t.Fatalf("dlq %s: %d %s", q, code, raw)
		}
	}
}

func TestOpsWritesValidateTheirBody(t *testing.T) {
	srv := opsServer(t, Config{Loopback: true})
	for _, tc := range []struct {
		method, path, ct, body string
		want                   int
	}{
		{"POST", "/api/load/", "", `{"events_per_second":1,"duration_seconds":1}`, http.StatusUnsupportedMediaType},
		{"POST", "/api/load/", "application/json", `{"events_per_second":1,"duration_seconds":1,"speed":3}`, http.StatusBadRequest},
		{"POST", "/api/load/", "application/json", `{"events_per_second":1e9,"duration_seconds":1}`, http.StatusBadRequest},
		{"POST", "/api/load/", "application/json", `not json`, http.StatusBadRequest},
		{"DELETE", "/api/load/", "", ``, http.StatusNotFound},
		{"POST", "/api/dlq/replay/", "application/json", `{}`, http.StatusBadRequest},
		{"POST", "/api/dlq/replay/", "application/json", `{"all":true}`, http.StatusBadRequest},
		{"POST", "/api/dlq/replay/", "application/json", `{"ids":["1-2"]}`, http.StatusBadRequest},
		{"POST", "/api/dlq/replay/", "application/json", `{"all":true,"rate":-1}`, http.StatusBadRequest},
	} {
		code, raw := send(t, tc.method, srv.URL+tc.path, tc.ct, tc.body, "")
		if code != tc.want || !strings.Contains(raw, `"error"`) {
			t.Fatalf("%s %s %s: %d %s, want %d", tc.method, tc.path, tc.body, code, raw, tc.want)
		}
	}
}

func TestOpsAdminRoutesBeyondLoopback(t *testing.T) {
	// Beyond loopback nothing is served without credentials, reads
	// included.
	srv := opsServer(t, Config{})
	body := `{"events_per_second":1,"duration_seconds":1}`
	if code, raw := send(t, "POST", srv.URL+"/api/load/", "application/json", body, ""); code != http.StatusUnauthorized {
		t.Fatalf("without credentials: %d %s", code, raw)
	}
	if code, _ := send(t, "GET", srv.URL+"/api/load/", "", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("read without credentials: %d", code)
	}

	srv = opsServer(t, Config{AdminToken: "tok"})
	if code, _ := send(t, "GET", srv.URL+"/api/load/", "", "", "tok"); code != http.StatusOK {
		t.Fatalf("read with the token: %d", code)
	}
	for _, tok := range []string{"", "nope"} {
		if code, raw := send(t, "POST", srv.URL+"/api/dlq/replay/", "application/json", `{"all":true}`, tok); code != http.StatusUnauthorized {
			t.Fatalf("token %q: %d %s", tok, code, raw)
		}
	}
	if code, raw := send(t, "POST", srv.URL+"/api/load/", "application/json", body, "tok"); code != http.StatusCreated || !strings.Contains(raw, `"status":"running"`) {
		t.Fatalf("with the token: %d %s", code, raw)
	}
	if code, raw := send(t, "POST", srv.URL+"/api/load/", "application/json", body, "tok"); code != http.StatusConflict || !strings.Contains(raw, `"run"`) {
		t.Fatalf("second run: %d %s", code, raw)
	}
	if code, raw := send(t, "DELETE", srv.URL+"/api/load/", "", "", "tok"); code != http.StatusOK || !strings.Contains(raw, `"status":"`) {
		t.Fatalf("stop: %d %s", code, raw)
	}
}

func TestOpsStoppedLoadRunIsStoppedAndListed(t *testing.T) {
	srv := opsServer(t, Config{Loopback: true})
	if code, raw := send(t, "GET", srv.URL+"/api/load/runs/", "", "", ""); code != http.StatusOK || raw != `{"runs":[]}`+"\n" {
		t.Fatalf("runs before any: %d %q", code, raw)
	}
	body := `{"events_per_second":200,"duration_seconds":60}`
	if code, raw := send(t, "POST", srv.URL+"/api/load/", "application/json", body, ""); code != http.StatusCreated {
		t.Fatalf("start: %d %s", code, raw)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var run load.Run
		_, raw := send(t, "GET", srv.URL+"/api/load/", "", "", "")
		if err := json.Unmarshal([]byte(raw), &run); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if run.Acked > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing acknowledged: %s", raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, raw := send(t, "DELETE", srv.URL+"/api/load/", "", "", "")
	stoppedBy := time.Now()
	var run load.Run
	if err := json.Unmarshal([]byte(raw), &run); code != http.StatusOK || err != nil {
		t.Fatalf("stop: %d %s %v", code, raw, err)
	}
	if run.Status != load.Stopped || run.Error != "" || run.Failed != 0 {
		t.Fatalf("a stopped run must read stopped, without error or failures: %s", raw)
	}
	if run.EndedAt.IsZero() || run.EndedAt.After(stoppedBy) || !run.EndedAt.Before(run.EndsAt) {
		t.Fatalf("ended_at must be when it stopped (before %v), not the planned end: %s", stoppedBy, raw)
	}
	var list struct{ Runs []load.Run }
	_, raw = send(t, "GET", srv.URL+"/api/load/runs/", "", "", "")
	if err := json.Unmarshal([]byte(raw), &list); err != nil || len(list.Runs) != 1 ||
		list.Runs[0].ID != run.ID || list.Runs[0].Status != load.Stopped || !list.Runs[0].EndedAt.Equal(run.EndedAt) {
		t.Fatalf("runs: %s %v", raw, err)
	}
}
