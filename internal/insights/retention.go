package insights

import (
	"context"
	"fmt"
	"math/bits"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// MaxCohorts bounds a retention table's cohorts (and so its periods).
const MaxCohorts = 120

// RetentionQuery asks, of the users first seen in each day or week of a
// range, how many were active again in each later one.
type RetentionQuery struct {
	// Period is Day or Week (UTC; weeks start on Monday).
	Period string
	// From and To are the range: the cohorts are the periods from the one
	// holding From to the one holding To.
	From, To time.Time
	// ReturnEvent is the event type that counts as coming back; "" is any.
	ReturnEvent string
	// Now ends the table: a period that has not started by Now has no
	// count (the triangle's empty corner).
	Now time.Time
}

// Cohort is the users first seen in one period and their return.
type Cohort struct {
	Start time.Time `json:"start"`
	Users int64     `json:"users"`
	// Returned[k] is the cohort's users active (on the return event, or
	// any) k periods after the cohort's; as long as the periods that have
	// started.
	Returned []int64 `json:"returned"`
}

// Retention is the answer of a RetentionQuery.
type Retention struct {
	Period string `json:"period"`
	// From is the first cohort's start; To is the end of the range asked.
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	ReturnEvent string    `json:"return_event"`
	Cohorts     []Cohort  `json:"cohorts"`
}

func (q *RetentionQuery) check() error {
	if q.Period != Day && q.Period != Week {
		return invalidf("period must be day or week, not %q", q.Period)
	}
	if q.To.Before(q.From) {
		return invalidf("the range must not end before it starts (from %s, to %s)", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	if n := bucketCount(q.From, q.To, q.Period); n > MaxCohorts {
		return invalidf("%d cohorts of a %s in this range; at most %d", n, q.Period, MaxCohorts)
	}
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	return nil
}

// Retention builds the cohort table from the first-seen table and the
// activity (store.Activity): rows per user and day of the range, never
// the events.
func (s *Service) Retention(ctx context.Context, q RetentionQuery) (Retention, error) {
	if err := q.check(); err != nil {
		return Retention{}, err
	}
	starts := bucketStarts(q.From, q.To, q.Period)
	end := step(starts[len(starts)-1], q.Period, 1)
	// Every period from the first cohort's to the one holding now.
	last := truncate(q.Now, q.Period)
	periods := 0
	if !last.Before(starts[0]) {
		periods = int(bucketCount(starts[0], last, q.Period))
	}

	// Periods and cohorts are counted in days from the first cohort's
	// start (a day's or a Monday's midnight).
	base := store.Day(starts[0])
	width := int64(1)
	if q.Period == Week {
		width = 7
	}
	cohortOf := map[string]int{}
	users := make([]int64, len(starts))
	err := s.store.FirstSeenBetween(ctx, starts[0], end, func(f store.FirstSeen) error {
		c := int((store.Day(f.At) - base) / width)
		cohortOf[f.UserID] = c
		users[c]++
		return nil
	})
	if err != nil {
		return Retention{}, fmt.Errorf("read the first seen: %w", err)
	}

	// Each cohort user's periods of activity, as bits from the first
	// cohort's period, so that a user active on several days of a week
	// counts once in it.
	words := (periods + 63) / 64
	active := map[string][]uint64{}
	if periods > 0 {
		lastDay := store.Day(step(last, q.Period, 1)) // exclusive
		err = s.store.ActiveUsers(ctx, q.ReturnEvent, base, lastDay, func(u store.ActiveDays) error {
			if _, ok := cohortOf[u.UserID]; !ok {
				return nil
			}
			b := active[u.UserID]
			if b == nil {
				b = make([]uint64, words)
				active[u.UserID] = b
			}
			for days := u.Days; days != 0; days &= days - 1 {
				p := (u.From + int64(bits.TrailingZeros64(days)) - base) / width
				b[p/64] |= 1 << (p % 64)
			}
			return nil
		})
		if err != nil {
			return Retention{}, fmt.Errorf("read the activity: %w", err)
		}
	}

	r := Retention{Period: q.Period, From: starts[0], To: q.To, ReturnEvent: q.ReturnEvent, Cohorts: make([]Cohort, len(starts))}
	for c, b := range starts {
		r.Cohorts[c] = Cohort{Start: b, Users: users[c], Returned: make([]int64, max(0, periods-c))}
	}
	for user, bits := range active {
		c := cohortOf[user]
		for k := range r.Cohorts[c].Returned {
			if p := c + k; bits[p/64]&(1<<(p%64)) != 0 {
				r.Cohorts[c].Returned[k]++
			}
		}
	}
	return r, nil
}
