package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/config"
	"github.com/pulse-dev/pulse/internal/kafka"
	"github.com/pulse-dev/pulse/internal/monitor"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
	"github.com/pulse-dev/pulse/test/pulsetest"
	"github.com/pulse-dev/pulse/test/rewindtest"
)

// rewindEnv is the rewind route over a real monitor of a broker whose
// group committed 10 records on each of 3 partitions, with no members.
type rewindEnv struct {
	server  *Server
	db      *sqlite.DB
	adm     *kadm.Client
	brokers []string
	kc      config.Kafka
}

func newRewindEnv(t *testing.T, wait time.Duration) *rewindEnv {
	t.Helper()
	kc, brokers := rewindtest.Cluster(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	reg := prometheus.NewRegistry()
	admin, err := kafka.NewAdmin(kc, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	mon, err := monitor.New(monitor.Config{Group: kc.Group, Topic: kc.Topic, RewindWait: wait},
		monitor.Deps{Admin: admin, History: db}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Loopback: true, AdminToken: rewindToken}, Deps{Rewinder: mon, Audit: db, Auth: testAuth(t, db, nil)}, nil, reg)
	return &rewindEnv{server: s, db: db, adm: adm, brokers: brokers, kc: kc}
}

// rewindToken is the admin token of rewindEnv's server: it is checked
// without the store, whatever the request's context.
const rewindToken = "rewind-admin-token"

// post sends a rewind with ctx.
func (e *rewindEnv) post(ctx context.Context, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/consumers/rewind/", strings.NewReader(body))
	req.RemoteAddr, req.Host = "127.0.0.1:50000", "127.0.0.1"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+rewindToken)
	rec := httptest.NewRecorder()
	e.server.Handler().ServeHTTP(rec, req)
	return rec
}

func (e *rewindEnv) committed(t *testing.T) map[int32]int64 {
	t.Helper()
	resp, err := e.adm.FetchOffsets(t.Context(), e.kc.Group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) { out[o.Partition] = o.At })
	return out
}

func (e *rewindEnv) audit(t *testing.T) []store.AuditEntry {
	t.Helper()
	entries, err := e.db.AuditLog(t.Context(), store.AuditFilter{Action: "POST /api/consumers/rewind/", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// A client that goes away while its rewind is applied does not cut the
// rewind short: it is applied, and audited.
func TestRewindOutlivesItsClient(t *testing.T) {
	e := newRewindEnv(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // gone before the answer
	e.post(ctx, `{"to":"earliest"}`)
	if got := e.committed(t); fmt.Sprint(got) != fmt.Sprint(map[int32]int64{0: 0, 1: 0, 2: 0}) {
		t.Errorf("committed after a rewind whose client went away: %v; want every partition at 0", got)
	}
	if a := e.audit(t); len(a) != 1 || a[0].Outcome != store.AuditOK || !strings.Contains(a[0].Detail, "30 records to process again") {
		t.Errorf("audit %+v; want the rewind, ok", a)
	}
}

// A rewind refused after some partitions moved (a member that is not a
// Pulse consumer owns the others) answers 409 naming both, and the audit
// log says what moved.
func TestRewindPartlyAppliedAudited(t *testing.T) {
	e := newRewindEnv(t, 2*time.Second)
	pulse := rewindtest.Start(t, rewindtest.Options{Brokers: e.brokers, Group: e.kc.Group, Topic: e.kc.Topic, ClientID: "pulse-member"})
	foreign, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ClientID("foreign"), kgo.ConsumerGroup(e.kc.Group),
		kgo.ConsumeTopics(e.kc.Topic), kgo.DisableAutoCommit(), kgo.HeartbeatInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	var moved, notMoved []int32
	pulsetest.WaitFor(t, 20*time.Second, "both members owning partitions", func() error {
		d, err := e.adm.DescribeGroups(t.Context(), e.kc.Group)
		if err != nil {
			return err
		}
		g := d[e.kc.Group]
		moved, notMoved = pulse.Owned(), nil
		for p := range int32(3) {
			if !slices.Contains(moved, p) {
				notMoved = append(notMoved, p)
			}
		}
		owning := 0
		for _, m := range g.Members {
			if a, ok := m.Assigned.AsConsumer(); ok && len(a.Topics) > 0 && len(a.Topics[0].Partitions) > 0 {
				owning++
			}
		}
		if g.State != "Stable" || owning != 2 || len(moved) == 0 || len(notMoved) == 0 {
			return fmt.Errorf("state %s, %d members owning, the Pulse member owns %v", g.State, owning, moved)
		}
		return nil
	})

	rec := e.post(t.Context(), `{"to":"earliest"}`)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "no member moved partition") ||
		!strings.Contains(rec.Body.String(), "partitions moved: ") {
		t.Fatalf("rewind: %d %s; want 409 naming what moved and what did not", rec.Code, rec.Body)
	}
	join := func(ps []int32) string { return strings.Trim(strings.ReplaceAll(fmt.Sprint(ps), " ", ","), "[]") }
	want := fmt.Sprintf("to earliest partially applied: partitions %s moved (%d records to process again); %s not: consumer group",
		join(moved), 10*len(moved), join(notMoved))
	a := e.audit(t)
	if len(a) != 1 || a[0].Outcome != store.AuditRefused || a[0].Status != http.StatusConflict ||
		!strings.HasPrefix(a[0].Detail, want) || !regexp.MustCompile(`no member moved partition`).MatchString(a[0].Detail) {
		t.Errorf("audit %+v; want refused, detail starting %q", a, want)
	}
}
