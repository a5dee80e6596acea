package insights

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// Bounds of a funnel.
const (
	MinFunnelSteps = 2
	MaxFunnelSteps = 10
	MinWindow      = time.Minute
	MaxWindow      = 90 * 24 * time.Hour
	DefaultWindow  = 24 * time.Hour
	// DroppedUsersLimit bounds the users listed as dropped at a step.
	DroppedUsersLimit = 100
	// DefaultFunnelLimit and MaxFunnelLimit bound a breakdown's values.
	DefaultFunnelLimit = 5
	MaxFunnelLimit     = 20
)

// FunnelStep is one step: events of a type that pass every filter.
type FunnelStep struct {
	EventType string   `json:"event_type"`
	Filters   []Filter `json:"filters"`
}

// FunnelQuery asks how many users went through the steps in order, each
// step within Window of their first. A user enters with a first step
// whose time is in [From, To); later steps may fall up to Window after To.
type FunnelQuery struct {
	Steps    []FunnelStep
	From, To time.Time
	Window   time.Duration
	// Breakdown splits the users by a field of the event of their first
	// step: page, element_id, source_id, session_id or properties.<key>.
	Breakdown string
	Limit     int
}

// FunnelStepResult is what became of one step.
type FunnelStepResult struct {
	FunnelStep
	// Count is the users who reached the step.
	Count int64 `json:"count"`
	// Conversion is Count over the first step's; StepConversion over the
	// previous step's. Both are 0 when the divisor is.
	Conversion     float64 `json:"conversion"`
	StepConversion float64 `json:"step_conversion"`
	// Dropped is the users who reached the previous step but not this one.
	Dropped int64 `json:"dropped"`
	// MedianSeconds is the median time from the previous step to this one
	// among the users who reached it; nil on the first step or when none.
	MedianSeconds *float64 `json:"median_seconds"`
	// DroppedUsers are up to DroppedUsersLimit of the dropped users, by id.
	DroppedUsers []string `json:"dropped_users"`
}

// FunnelBreakdown is the step counts of the users whose first step had
// one value of the breakdown field.
type FunnelBreakdown struct {
	Value string             `json:"value"`
	Other bool               `json:"other,omitempty"`
	Steps []FunnelStepCounts `json:"steps"`
}

// FunnelStepCounts is one step of a breakdown's value.
type FunnelStepCounts struct {
	Count int64 `json:"count"`
}

// Funnel is the answer of a FunnelQuery.
type Funnel struct {
	From              time.Time          `json:"from"`
	To                time.Time          `json:"to"`
	WindowSeconds     int64              `json:"window_seconds"`
	Steps             []FunnelStepResult `json:"steps"`
	DroppedUsersLimit int                `json:"dropped_users_limit"`
	Breakdown         []FunnelBreakdown  `json:"breakdown,omitempty"`
}

func (q *FunnelQuery) check() error {
	if n := len(q.Steps); n < MinFunnelSteps || n > MaxFunnelSteps {
		return invalidf("steps: a funnel has %d to %d steps, not %d", MinFunnelSteps, MaxFunnelSteps, n)
	}
	for i, s := range q.Steps {
		if s.EventType == "" {
			return invalidf("steps[%d]: event_type is required", i)
		}
		if err := checkFilters(s.Filters); err != nil {
			return invalidf("steps[%d]: %v", i, err)
		}
	}
	if q.Window == 0 {
		q.Window = DefaultWindow
	}
	if q.Window < MinWindow || q.Window > MaxWindow {
		return invalidf("window must be between 1m and 90d")
	}
	if !q.To.After(q.From) {
		return invalidf("the range must end after it starts (from %s, to %s)", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	if q.Breakdown != "" {
		if err := store.CheckField(q.Breakdown); err != nil {
			return invalidf("breakdown: %v", err)
		}
	}
	if q.Limit == 0 {
		q.Limit = DefaultFunnelLimit
	}
	if q.Limit < 1 || q.Limit > MaxFunnelLimit {
		return invalidf("limit must be between 1 and %d", MaxFunnelLimit)
	}
	return nil
}

// attempt is one way through the funnel past its first step: the time of
// each step reached, from the first, and the breakdown value of the first
// step's event. Attempts are never changed once made, so users' states
// share them.
type attempt struct {
	times []int64
	value string
}

// funnelUser is a user's way through the funnel so far; a user is in it
// once entered. at and value are the user's latest first step. best[j-1]
// is the attempt that reached step j (j >= 1) with the latest first step:
// of all the attempts at step j it has the most of its window left, so it
// is the one every later step extends; starts[j-1] is its first step's
// time, so that an event that extends nothing is told without reading an
// attempt. Each step of an attempt is the earliest event that could be
// it. deep is the first attempt that reached the deepest step, nil while
// that is the first step: the user's times between steps and breakdown
// value are its, or else those of the user's first first step (firstValue).
type funnelUser struct {
	at         int64
	value      string
	firstValue string
	deep       *attempt
	// later holds best and starts once the user reached a later step:
	// most users of a funnel over a busy first step never do, and a user
	// is then a quarter of the size.
	later *laterSteps
}

// laterSteps are a user's best attempts at the steps past the first.
type laterSteps struct {
	best   [MaxFunnelSteps - 1]*attempt
	starts [MaxFunnelSteps - 1]int64
}

// depth is how many steps the user reached.
func (u *funnelUser) depth() int {
	if u.deep == nil {
		return 1
	}
	return len(u.deep.times)
}

// Funnel follows every user through q's steps. It reads the events of the
// steps' types over the range (and the window after it) in time order,
// once, keeping a few attempts per user: the answer is exact, and the
// memory grows with the users, not the events. A user's state is one
// object, so that the most common event, a first step, touches no other.
func (s *Service) Funnel(ctx context.Context, q FunnelQuery) (Funnel, error) {
	if err := q.check(); err != nil {
		return Funnel{}, err
	}
	from, to, window := q.From.UnixMicro(), q.To.UnixMicro(), q.Window.Microseconds()
	users := map[string]*funnelUser{}
	k := len(q.Steps)
	err := s.mergeSteps(ctx, q, func(m stepMatch) {
		enters := m.mask&1 != 0 && m.micros >= from && m.micros < to
		u := users[m.user]
		if u == nil {
			if enters {
				users[m.user] = &funnelUser{at: m.micros, value: m.value, firstValue: m.value}
			}
			return // a user's first event in the funnel is no later step
		}
		// Down from the last step, so that one event is never two steps
		// of one attempt.
		for j := k - 1; j >= 1 && m.mask > 1; j-- {
			if m.mask&(1<<j) == 0 {
				continue
			}
			l := u.later
			start := u.at
			if j > 1 {
				if l == nil || l.best[j-2] == nil {
					continue
				}
				start = l.starts[j-2]
			}
			// An attempt of the same first step keeps its earlier time
			// here: the same window left, and more room for the next step.
			if m.micros-start > window || (l != nil && l.best[j-1] != nil && l.starts[j-1] >= start) {
				continue
			}
			if l == nil {
				l = &laterSteps{}
				u.later = l
			}
			var a *attempt
			if j == 1 {
				a = &attempt{times: []int64{u.at, m.micros}, value: u.value}
			} else {
				prev := l.best[j-2]
				a = &attempt{times: append(slices.Clip(prev.times[:j]), m.micros), value: prev.value}
			}
			l.best[j-1], l.starts[j-1] = a, start
			if u.depth() <= j {
				u.deep = a
			}
		}
		if enters {
			u.at, u.value = m.micros, m.value
		}
	})
	if err != nil {
		return Funnel{}, err
	}
	return q.result(users), nil
}

// result counts the users' deepest steps.
func (q *FunnelQuery) result(users map[string]*funnelUser) Funnel {
	k := len(q.Steps)
	counts := make([]int64, k)
	waits := make([][]int64, k)
	dropped := make([][]string, k)
	byValue := map[string][]int64{}
	for id, u := range users {
		depth := u.depth()
		for j := range depth {
			counts[j]++
			if j > 0 {
				waits[j] = append(waits[j], u.deep.times[j]-u.deep.times[j-1])
			}
		}
		if depth < k {
			dropped[depth] = append(dropped[depth], id)
		}
		if q.Breakdown != "" {
			value := u.firstValue
			if u.deep != nil {
				value = u.deep.value
			}
			c := byValue[value]
			if c == nil {
				c = make([]int64, k)
				byValue[value] = c
			}
			for j := range depth {
				c[j]++
			}
		}
	}
	f := Funnel{From: q.From, To: q.To, WindowSeconds: int64(q.Window / time.Second), DroppedUsersLimit: DroppedUsersLimit}
	for j, st := range q.Steps {
		if st.Filters == nil {
			st.Filters = []Filter{}
		}
		r := FunnelStepResult{FunnelStep: st, Count: counts[j], DroppedUsers: []string{}}
		r.Conversion = ratio(counts[j], counts[0])
		r.StepConversion = 1
		if j > 0 {
			r.StepConversion = ratio(counts[j], counts[j-1])
			r.Dropped = counts[j-1] - counts[j]
			r.MedianSeconds = median(waits[j])
			slices.Sort(dropped[j])
			r.DroppedUsers = append(r.DroppedUsers, dropped[j][:min(len(dropped[j]), DroppedUsersLimit)]...)
		}
		if j == 0 {
			r.Conversion = ratio(counts[0], counts[0])
			r.StepConversion = r.Conversion
		}
		f.Steps = append(f.Steps, r)
	}
	if q.Breakdown != "" {
		f.Breakdown = funnelBreakdown(byValue, q.Limit, k)
	}
	return f
}

// funnelBreakdown keeps the limit values with the most users at the first
// step and sums the rest as "(other)".
func funnelBreakdown(byValue map[string][]int64, limit, k int) []FunnelBreakdown {
	values := make([]string, 0, len(byValue))
	for v := range byValue {
		values = append(values, v)
	}
	slices.SortFunc(values, func(a, b string) int {
		return cmp.Or(cmp.Compare(byValue[b][0], byValue[a][0]), cmp.Compare(a, b))
	})
	out := []FunnelBreakdown{}
	other := make([]int64, k)
	for i, v := range values {
		if i >= limit {
			for j, n := range byValue[v] {
				other[j] += n
			}
			continue
		}
		out = append(out, FunnelBreakdown{Value: v, Steps: stepCounts(byValue[v])})
	}
	if len(values) > limit {
		out = append(out, FunnelBreakdown{Value: OtherKey, Other: true, Steps: stepCounts(other)})
	}
	return out
}

func stepCounts(c []int64) []FunnelStepCounts {
	out := make([]FunnelStepCounts, len(c))
	for i, n := range c {
		out[i].Count = n
	}
	return out
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// median of microsecond waits, in seconds.
func median(us []int64) *float64 {
	if len(us) == 0 {
		return nil
	}
	slices.Sort(us)
	n := len(us)
	m := float64(us[n/2])
	if n%2 == 0 {
		m = (float64(us[n/2-1]) + float64(us[n/2])) / 2
	}
	m /= 1e6
	return &m
}
