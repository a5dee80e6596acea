package alerts

import (
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// run feeds values one evaluation apart and returns the kinds of event
// each made ("" for none), carrying the state as the store would.
func run(t *testing.T, r Rule, st store.AlertState, start time.Time, every time.Duration, values ...float64) ([]string, store.AlertState) {
	t.Helper()
	var kinds []string
	for i, v := range values {
		now := start.Add(time.Duration(i) * every)
		c := step(&r, st, v, true, now)
		kinds = append(kinds, c.kind)
		if c.write {
			c.next.Version = st.Version + 1
			st = c.next
		}
	}
	return kinds, st
}

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func lagRule() Rule {
	return Rule{ID: "lag", Name: "lag", Signal: SignalLagSeconds, Op: OpAbove, Threshold: 5, Enabled: true,
		WebhookURL: "http://127.0.0.1:1/hook", WebhookFormat: FormatJSON}
}

func TestStepFor(t *testing.T) {
	r := lagRule()
	r.For = Duration(30 * time.Second)
	// 10 s apart: the breach at 0 s must hold at 30 s to fire; a dip
	// below restarts the count.
	kinds, st := run(t, r, store.AlertState{}, t0, 10*time.Second, 6, 7, 8, 4, 6, 6, 6, 6)
	want := []string{"", "", "", "", "", "", "", "firing"}
	if !equal(kinds, want) {
		t.Fatalf("kinds %q, want %q", kinds, want)
	}
	if st.State != store.AlertFiring || st.NotifiedAt == nil || !st.NotifiedAt.Equal(t0.Add(70*time.Second)) {
		t.Fatalf("state %+v", st)
	}
	// No value (the monitor has no sample) changes nothing, even for a
	// pending rule.
	if c := step(&r, store.AlertState{State: store.AlertPending, Since: t0}, 0, false, t0.Add(time.Hour)); c.write {
		t.Fatalf("no value changed the state: %+v", c)
	}
}

func TestStepHysteresis(t *testing.T) {
	r := lagRule()
	r.Hysteresis = 2
	// Fires at 6; 4 is below 5 but not below 5-2: still firing; 2.9
	// resolves; then 5.5 fires again.
	kinds, _ := run(t, r, store.AlertState{}, t0, 10*time.Second, 6, 4, 3, 5, 2.9, 5.5)
	want := []string{"firing", "", "", "", "resolved", "firing"}
	if !equal(kinds, want) {
		t.Fatalf("kinds %q, want %q", kinds, want)
	}
	below := Rule{ID: "signups", Name: "signups", Signal: SignalEventCount, Compare: CompareValue, Window: Duration(5 * time.Minute),
		Op: OpBelow, Threshold: 10, Hysteresis: 5, Enabled: true, WebhookURL: "http://127.0.0.1:1/hook", WebhookFormat: FormatJSON}
	kinds, _ = run(t, below, store.AlertState{}, t0, time.Minute, 12, 9, 14, 15, 15.5)
	want = []string{"", "firing", "", "", "resolved"}
	if !equal(kinds, want) {
		t.Fatalf("below: kinds %q, want %q", kinds, want)
	}
}

func TestStepRepeat(t *testing.T) {
	r := lagRule()
	r.Repeat = Duration(time.Minute)
	// Evaluated every 20 s while firing: notified at 0, again at 60 s and
	// 120 s, never between.
	kinds, _ := run(t, r, store.AlertState{}, t0, 20*time.Second, 9, 9, 9, 9, 9, 9, 9)
	want := []string{"firing", "", "", "repeat", "", "", "repeat"}
	if !equal(kinds, want) {
		t.Fatalf("kinds %q, want %q", kinds, want)
	}
	r.Repeat = 0
	kinds, _ = run(t, r, store.AlertState{}, t0, time.Hour, 9, 9, 9)
	if !equal(kinds, []string{"firing", "", ""}) {
		t.Fatalf("no repeat: kinds %q", kinds)
	}
}

func TestStepSilence(t *testing.T) {
	r := lagRule()
	r.Repeat = Duration(time.Minute)
	until := t0.Add(90 * time.Second)
	st := store.AlertState{SilencedUntil: &until}
	// Silenced: the firing is recorded but not notified, the repeats are
	// neither; once the silence ends (at 90 s) the next evaluation
	// notifies, and the repeats go on from there.
	var notified []bool
	var kinds []string
	for i := range 6 {
		now := t0.Add(time.Duration(i) * 30 * time.Second)
		c := step(&r, st, 9, true, now)
		kinds, notified = append(kinds, c.kind), append(notified, c.notify)
		if c.write {
			c.next.Version = st.Version + 1
			st = c.next
		}
	}
	if !equal(kinds, []string{"firing", "", "", "repeat", "", "repeat"}) {
		t.Fatalf("kinds %q", kinds)
	}
	if notified[0] || !notified[3] || !notified[5] {
		t.Fatalf("notified %v: the silenced firing must not be, the repeat after the silence must", notified)
	}
	// A resolution while silenced is recorded, not notified.
	c := step(&r, store.AlertState{State: store.AlertFiring, Since: t0, SilencedUntil: &until}, 1, true, t0.Add(time.Minute))
	if c.kind != store.AlertEventResolved || c.notify {
		t.Fatalf("silenced resolution: %+v", c)
	}
}

func TestStepDisabledResolves(t *testing.T) {
	r := lagRule()
	r.Enabled = false
	c := step(&r, store.AlertState{State: store.AlertFiring, Since: t0, Value: 9}, 0, false, t0.Add(time.Minute))
	if c.kind != store.AlertEventResolved || c.next.State != store.AlertOK || !c.notify {
		t.Fatalf("disabling a firing rule: %+v", c)
	}
	if c := step(&r, store.AlertState{}, 0, false, t0); c.write {
		t.Fatalf("a disabled rule at ok changed: %+v", c)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
