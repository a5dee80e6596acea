package collect

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/plan"
	"github.com/pulse-dev/pulse/internal/store"
)

type fixedPlans struct {
	p   *plan.Plan
	err error
}

func (f fixedPlans) Current() (*plan.Plan, error) { return f.p, f.err }

func signupPlan(t *testing.T) fixedPlans {
	t.Helper()
	p, err := plan.Compile([]store.PlanEntry{
		{EventType: "signup", Schema: json.RawMessage(`{"type":"object","required":["plan"],"properties":{"plan":{"enum":["free","pro"]}}}`)},
		{EventType: "page_view", Schema: json.RawMessage(`true`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fixedPlans{p: p}
}

func withPlan(mode string) store.Source {
	s := shop
	s.Settings.Plan = mode
	return s
}

func signup(n int, planName string) string {
	return fmt.Sprintf(`{"event_id":"0193a5b2-7c3d-7e4f-8a1b-%012d","event_type":"signup","anonymous_id":"a","properties":{"plan":%q}}`, n, planName)
}

func unknown(n int) string {
	return fmt.Sprintf(`{"event_id":"0193a5b2-7c3d-7e4f-8a1b-%012d","event_type":"sign_up","anonymous_id":"a"}`, n)
}

func warningsBy(ws []store.PlanWarning) map[string]store.PlanWarning {
	out := map[string]store.PlanWarning{}
	for _, w := range ws {
		k := w.EventType + " " + w.Problem
		if p, ok := out[k]; ok {
			w.Warned += p.Warned
			w.Rejected += p.Rejected
		}
		out[k] = w
	}
	return out
}

func TestWarnModeStoresAndCounts(t *testing.T) {
	p, sink := &fakeProducer{}, &fakeSink{}
	c := New(p, sink, signupPlan(t), nil, nil)
	res, err := c.Collect(t.Context(), withPlan(plan.ModeWarn), batch(signup(1, "pro"), signup(2, "enterprise"), unknown(3), signup(4, "gold")), time.Now(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 4 || len(res.Rejected) != 0 || len(p.sent) != 4 {
		t.Fatalf("warn mode refused: %+v, %d sent", res, len(p.sent))
	}
	c.Flush(t.Context())
	got := warningsBy(sink.warnings)
	enum := got["signup /properties/plan/enum"]
	if len(got) != 2 || enum.Warned != 2 || enum.Rejected != 0 || enum.Field != "properties.plan" ||
		!strings.Contains(string(enum.Example), `"gold"`) {
		t.Fatalf("warnings %+v", got)
	}
	if u := got["sign_up "+store.ProblemUnknownType]; u.Warned != 1 || u.Field != "event_type" {
		t.Fatalf("unknown type %+v", u)
	}
	if l := sink.total(shop.ID); l.Received != 4 || l.Rejected != 0 {
		t.Fatalf("ledger %+v", l)
	}
}

func TestStrictModeRefusesWithTheReason(t *testing.T) {
	p, sink := &fakeProducer{}, &fakeSink{}
	c := New(p, sink, signupPlan(t), nil, nil)
	res, err := c.Collect(t.Context(), withPlan(plan.ModeStrict), batch(signup(1, "pro"), signup(2, "enterprise"), unknown(3)), time.Now(), "r")
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || len(res.Rejected) != 2 || len(p.sent) != 1 {
		t.Fatalf("strict: %+v, %d sent", res, len(p.sent))
	}
	if r := res.Rejected[0]; r.Index != 1 || r.Field != "events[1].properties.plan" || !strings.Contains(r.Error, "'free', 'pro'") {
		t.Fatalf("rejection %+v", r)
	}
	if r := res.Rejected[1]; r.Index != 2 || r.Field != "events[2].event_type" || !strings.Contains(r.Error, "not in the tracking plan") {
		t.Fatalf("rejection %+v", r)
	}
	c.Flush(t.Context())
	got := warningsBy(sink.warnings)
	if got["signup /properties/plan/enum"].Rejected != 1 || got["sign_up "+store.ProblemUnknownType].Rejected != 1 {
		t.Fatalf("warnings %+v", got)
	}
	if l := sink.total(shop.ID); l.Received != 1 || l.Rejected != 2 {
		t.Fatalf("ledger %+v", l)
	}
}

func TestPlanOffChecksNothing(t *testing.T) {
	p, sink := &fakeProducer{}, &fakeSink{}
	// Not even the plan's absence matters to a source that does not use it.
	c := New(p, sink, fixedPlans{err: plan.ErrNotLoaded}, nil, nil)
	for _, mode := range []string{"", plan.ModeOff} {
		res, err := c.Collect(t.Context(), withPlan(mode), batch(unknown(1)), time.Now(), "r")
		if err != nil || res.Accepted != 1 {
			t.Fatalf("mode %q: %+v %v", mode, res, err)
		}
	}
	c.Flush(t.Context())
	if len(sink.warnings) != 0 {
		t.Fatalf("warnings %+v", sink.warnings)
	}
}

func TestUnreadPlanIsUnavailableNotAPass(t *testing.T) {
	p := &fakeProducer{}
	for _, plans := range []Plans{fixedPlans{err: plan.ErrNotLoaded}, nil} {
		c := New(p, &fakeSink{}, plans, nil, nil)
		_, err := c.Collect(t.Context(), withPlan(plan.ModeStrict), batch(signup(1, "pro")), time.Now(), "r")
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err %v, want ErrUnavailable", err)
		}
	}
	if len(p.sent) != 0 {
		t.Fatalf("%d sent without a plan", len(p.sent))
	}
}

// A batch Kafka did not take is sent again by the client: its warnings
// count once, with the copy that got through.
func TestWarningsOfAnUnavailableBatchCountOnce(t *testing.T) {
	p, sink := &fakeProducer{fail: errors.New("no leader")}, &fakeSink{}
	c := New(p, sink, signupPlan(t), nil, nil)
	b := batch(signup(1, "gold"))
	if _, err := c.Collect(t.Context(), withPlan(plan.ModeWarn), b, time.Now(), "r"); !errors.Is(err, ErrUnavailable) {
		t.Fatal(err)
	}
	p.fail = nil
	if _, err := c.Collect(t.Context(), withPlan(plan.ModeWarn), b, time.Now(), "r"); err != nil {
		t.Fatal(err)
	}
	c.Flush(t.Context())
	if got := warningsBy(sink.warnings)["signup /properties/plan/enum"]; got.Warned != 1 {
		t.Fatalf("counted %d, want 1", got.Warned)
	}
}

func TestWarningsWaitForAStoreThatFailed(t *testing.T) {
	p, sink := &fakeProducer{}, &fakeSink{fail: errors.New("database down")}
	c := New(p, sink, signupPlan(t), nil, nil)
	first := time.Now().Add(-time.Minute)
	if _, err := c.Collect(t.Context(), withPlan(plan.ModeWarn), batch(signup(1, "gold")), first, "r"); err != nil {
		t.Fatal(err)
	}
	c.Flush(t.Context())
	if _, err := c.Collect(t.Context(), withPlan(plan.ModeWarn), batch(signup(2, "silver")), time.Now(), "r"); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	sink.fail = nil
	sink.mu.Unlock()
	c.Flush(t.Context())
	got := warningsBy(sink.warnings)["signup /properties/plan/enum"]
	if got.Warned != 2 || !got.FirstAt.Equal(first) || !strings.Contains(string(got.Example), "silver") {
		t.Fatalf("after the store came back: %+v (example %s)", got, got.Example)
	}
}

func TestLongExampleIsCutAsAString(t *testing.T) {
	raw := []byte(`{"event_type":"x","properties":{"long":"` + strings.Repeat("é", store.MaxWarningExample) + `"}}`)
	ex := example(raw)
	var s string
	if err := json.Unmarshal(ex, &s); err != nil || len(ex) > store.MaxWarningExample+64 || !strings.HasSuffix(s, "…") {
		t.Fatalf("example %d bytes: %v", len(ex), err)
	}
	if short := example([]byte(`{"a":1}`)); string(short) != `{"a":1}` {
		t.Fatalf("short example %s", short)
	}
}
