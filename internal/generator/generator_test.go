package generator

import (
	"encoding/json"
	"fmt"
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
	// The seed's five types keep the seed's mix among them; the journey's
	// own are a few percent on top.
	want := map[string]float64{
		event.TypePageView: 0.40, event.TypeButtonClick: 0.35, event.TypeFormSubmit: 0.12,
		event.TypeUserLogin: 0.05, event.TypeAPICall: 0.08,
	}
	seed := 0
	for typ := range want {
		seed += types[typ]
	}
	for typ, share := range want {
		got := float64(types[typ]) / float64(seed)
		if math.Abs(got-share) > 0.03 {
			t.Errorf("%s: %.3f of the seed's events, want about %.2f", typ, got, share)
		}
	}
	if len(types) != len(want)+3 || seed < n*9/10 {
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

// The journeys: each add_to_cart follows the user's click on
// btn_add_to_cart, each signup and purchase a click to checkout; a user
// signs up once; fewer users go on at each step; a paying plan buys more
// often; every event carries the user's traits, the same on each.
func TestJourneys(t *testing.T) {
	const n = 60000
	g := New(Config{Seed: 3, Now: fixedNow})
	type state struct {
		addClicks, checkouts int
		signups              int
		traits               [3]string
	}
	users := map[string]*state{}
	steps := map[string]map[string]bool{"product": {}, TypeAddToCart: {}, TypeSignup: {}, TypePurchase: {}}
	checkouts, purchases := map[string]int{}, map[string]int{}
	for range n {
		e := g.Next()
		var p map[string]any
		if err := json.Unmarshal(e.Properties, &p); err != nil {
			t.Fatal(err)
		}
		tr := [3]string{fmt.Sprint(p["plan"]), fmt.Sprint(p["country"]), fmt.Sprint(p["device"])}
		u := users[e.UserID]
		if u == nil {
			u = &state{traits: tr}
			users[e.UserID] = u
		}
		if tr != u.traits || tr[0] == "<nil>" || tr[1] == "<nil>" || tr[2] == "<nil>" {
			t.Fatalf("%s: traits %v, first seen %v", e.UserID, tr, u.traits)
		}
		switch {
		case e.EventType == event.TypePageView && strings.HasPrefix(e.Page, "/products/"):
			steps["product"][e.UserID] = true
		case e.EventType == event.TypeButtonClick && e.ElementID == "btn_add_to_cart":
			u.addClicks++
		case e.EventType == event.TypeButtonClick && checkoutClicks[e.ElementID]:
			u.checkouts++
			checkouts[u.traits[0]]++
		case e.EventType == TypeAddToCart:
			if u.addClicks == 0 {
				t.Fatalf("%s: add_to_cart before any click on btn_add_to_cart", e.UserID)
			}
			u.addClicks--
			steps[TypeAddToCart][e.UserID] = true
		case e.EventType == TypeSignup:
			u.signups++
			if u.signups > 1 || u.checkouts == 0 {
				t.Fatalf("%s: signup %d after %d checkouts", e.UserID, u.signups, u.checkouts)
			}
			steps[TypeSignup][e.UserID] = true
		case e.EventType == TypePurchase:
			if u.checkouts == 0 {
				t.Fatalf("%s: purchase without a checkout", e.UserID)
			}
			purchases[u.traits[0]]++
			steps[TypePurchase][e.UserID] = true
		}
	}
	order := []string{"product", TypeAddToCart, TypeSignup, TypePurchase}
	for i := 1; i < len(order); i++ {
		if a, b := len(steps[order[i-1]]), len(steps[order[i]]); b == 0 || b >= a {
			t.Errorf("%d users reached %s after %d reached %s: want fewer, and some", b, order[i], a, order[i-1])
		}
	}
	rate := func(plan string) float64 { return float64(purchases[plan]) / float64(checkouts[plan]) }
	if !(rate("pro") > rate("free") && rate("team") > rate("free")) {
		t.Errorf("purchases per checkout: free %.2f, pro %.2f, team %.2f; want the paying plans above free",
			rate("free"), rate("pro"), rate("team"))
	}
	plans := map[string]int{}
	for _, u := range users {
		plans[u.traits[0]]++
	}
	if plans["free"] <= plans["pro"] || plans["pro"] <= plans["team"] || plans["team"] == 0 {
		t.Errorf("plans %v: want mostly free, some pro, a few team", plans)
	}
}

// At stamps the events it makes with the time it is given, and so does
// every event a click set off.
func TestAtStampsTheEvents(t *testing.T) {
	g := New(Config{Seed: 9, Now: fixedNow})
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	for i := range 5000 {
		when := at.Add(time.Duration(i) * time.Second)
		if e := g.At(when); !e.Timestamp.Equal(when) {
			t.Fatalf("event %d stamped %v, want %v", i, e.Timestamp, when)
		}
	}
}
