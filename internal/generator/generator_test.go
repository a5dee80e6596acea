package generator

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
)

func fixedNow() time.Time { return time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC) }

func TestDeterministicWithSeed(t *testing.T) {
	a := New(Config{Seed: 42, Now: fixedNow, FailureRate: 0.1, DelayRate: 0.1})
	b := New(Config{Seed: 42, Now: fixedNow, FailureRate: 0.1, DelayRate: 0.1})
	c := New(Config{Seed: 43, Now: fixedNow})
	same := true
	for range 500 {
		ea, eb, ec := a.Next(), b.Next(), c.Next()
		if !reflect.DeepEqual(ea, eb) {
			t.Fatalf("same seed differs:\n%+v\n%+v", ea, eb)
		}
		same = same && reflect.DeepEqual(ea, ec)
	}
	if same {
		t.Error("different seeds gave the same sequence")
	}
	if a.Count() != 500 {
		t.Errorf("Count = %d", a.Count())
	}
}

func TestEventsAreValidAndRealistic(t *testing.T) {
	const n = 10000
	g := New(Config{Seed: 7, Now: fixedNow})
	types := map[string]int{}
	ids := map[string]bool{}
	sessions := map[string]string{} // session -> user
	users := map[string]bool{}
	for range n {
		e := g.Next()
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := event.Decode(data)
		if err != nil {
			t.Fatalf("generated event invalid: %v\n%s", err, data)
		}
		if back.EventID == "" || !back.Timestamp.Equal(fixedNow()) {
			t.Fatalf("event_id/timestamp not set: %s", data)
		}
		if ids[e.EventID] {
			t.Fatalf("duplicate event_id %s", e.EventID)
		}
		ids[e.EventID] = true
		if e.ShouldFail || e.DelaySeconds != 0 {
			t.Fatalf("simulation fields set with zero rates: %s", data)
		}
		if !strings.HasPrefix(e.UserID, "user_") || e.SessionID == "" || e.Page == "" || e.ElementID == "" {
			t.Fatalf("incomplete event: %s", data)
		}
		if u, ok := sessions[e.SessionID]; ok && u != e.UserID {
			t.Fatalf("session %s shared by %s and %s", e.SessionID, u, e.UserID)
		}
		sessions[e.SessionID] = e.UserID
		users[e.UserID] = true
		types[e.EventType]++
	}
	want := map[string]float64{
		event.TypePageView: 0.40, event.TypeButtonClick: 0.35, event.TypeFormSubmit: 0.12,
		event.TypeUserLogin: 0.05, event.TypeAPICall: 0.08,
	}
	for typ, share := range want {
		got := float64(types[typ]) / n
		if math.Abs(got-share) > 0.03 {
			t.Errorf("%s: %.3f of events, want about %.2f", typ, got, share)
		}
	}
	if len(types) != len(want) {
		t.Errorf("types = %v", types)
	}
	if len(users) < 300 || len(users) > DefaultUsers {
		t.Errorf("%d distinct users, want most of %d", len(users), DefaultUsers)
	}
	// Sessions last a while: far fewer sessions than events.
	if len(sessions) > n/4 {
		t.Errorf("%d sessions for %d events", len(sessions), n)
	}
}

func TestFailureAndDelayShares(t *testing.T) {
	const n = 10000
	g := New(Config{Seed: 1, FailureRate: 0.2, DelayRate: 0.1, MaxDelay: 2})
	var failed, delayed int
	for range n {
		e := g.Next()
		if e.ShouldFail {
			failed++
		}
		if e.DelaySeconds > 0 {
			delayed++
			if e.DelaySeconds > 2 || e.DelaySeconds < 0.1 {
				t.Fatalf("delay %v outside 0.1..2", e.DelaySeconds)
			}
		}
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	if f := float64(failed) / n; math.Abs(f-0.2) > 0.02 {
		t.Errorf("failure share %.3f, want 0.2", f)
	}
	if d := float64(delayed) / n; math.Abs(d-0.1) > 0.02 {
		t.Errorf("delay share %.3f, want 0.1", d)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Users: -1}, {FailureRate: 1.5}, {DelayRate: -0.1}, {MaxDelay: 100}, {FailureRate: math.NaN()}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (Config{Users: 10, FailureRate: 1, DelayRate: 0.5, MaxDelay: 30}).Validate(); err != nil {
		t.Error(err)
	}
	g := New(Config{Users: 3, Seed: 9})
	for range 100 {
		if u := g.Next().UserID; u != "user_001" && u != "user_002" && u != "user_003" {
			t.Fatalf("user %s outside a population of 3", u)
		}
	}
}
