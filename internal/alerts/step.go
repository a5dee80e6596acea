package alerts

import (
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// change is what one evaluation does to a rule's state: nothing (write
// false), a new state alone (pending, or back to ok), or a new state and
// an event for the history (firing, resolved, repeat).
type change struct {
	write bool
	next  store.AlertState
	// kind is the history event's kind; empty: none.
	kind string
	// notify says the event is sent (not silenced, a webhook set).
	notify bool
}

// breached says whether v crosses the rule's threshold.
func breached(r *Rule, v float64) bool {
	if r.Op == OpAbove {
		return v > r.Threshold
	}
	return v < r.Threshold
}

// recovered says whether v is back past the threshold by the hysteresis:
// only then does a firing rule resolve.
func recovered(r *Rule, v float64) bool {
	if r.Op == OpAbove {
		return v < r.Threshold-r.Hysteresis
	}
	return v > r.Threshold+r.Hysteresis
}

// silenced says whether st's silence holds at now.
func silenced(st store.AlertState, now time.Time) bool {
	return st.SilencedUntil != nil && now.Before(*st.SilencedUntil)
}

// step evaluates rule r in state st (State empty: never evaluated) on the
// value v read at now; ok false means there was no value to read, which
// changes nothing. A disabled rule goes back to ok, resolving if it fired.
func step(r *Rule, st store.AlertState, v float64, ok bool, now time.Time) change {
	state := st.State
	if state == "" {
		state = store.AlertOK
	}
	next := st
	next.UpdatedAt = now
	to := func(s string) {
		next.State, next.Since, next.Value = s, now, v
	}
	quiet := silenced(st, now) || r.WebhookURL == ""
	// fire moves to firing, notified now unless quiet.
	fire := func() change {
		to(store.AlertFiring)
		next.NotifiedAt = nil
		if !quiet {
			n := now
			next.NotifiedAt = &n
		}
		return change{write: true, next: next, kind: store.AlertEventFiring, notify: !quiet}
	}

	if !r.Enabled {
		if state == store.AlertOK {
			return change{}
		}
		to(store.AlertOK)
		next.Value, next.NotifiedAt = st.Value, nil
		if state == store.AlertFiring {
			return change{write: true, next: next, kind: store.AlertEventResolved, notify: !quiet}
		}
		return change{write: true, next: next}
	}
	if !ok {
		return change{}
	}
	switch state {
	case store.AlertOK:
		if !breached(r, v) {
			return change{}
		}
		if r.For == 0 {
			return fire()
		}
		to(store.AlertPending)
		return change{write: true, next: next}
	case store.AlertPending:
		if !breached(r, v) {
			to(store.AlertOK)
			return change{write: true, next: next}
		}
		if now.Sub(st.Since) < r.For.D() {
			return change{}
		}
		return fire()
	case store.AlertFiring:
		if recovered(r, v) {
			to(store.AlertOK)
			next.NotifiedAt = nil
			return change{write: true, next: next, kind: store.AlertEventResolved, notify: !quiet}
		}
		// A firing rule notifies again each repeat interval: since its
		// last notification, or since it fired when a silence or a
		// missing webhook kept it quiet then. A repeat while quiet is
		// neither sent nor recorded.
		if r.Repeat == 0 || quiet {
			return change{}
		}
		last := st.Since
		if st.NotifiedAt != nil {
			last = *st.NotifiedAt
		}
		if now.Sub(last) < r.Repeat.D() {
			return change{}
		}
		next.Value = v
		n := now
		next.NotifiedAt = &n
		return change{write: true, next: next, kind: store.AlertEventRepeat, notify: true}
	}
	// An unknown state (a newer version's) is started afresh.
	to(store.AlertOK)
	return change{write: true, next: next}
}
