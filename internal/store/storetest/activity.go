package storetest

import (
	"cmp"
	"math/bits"
	"slices"
	"testing"

	"github.com/pulse-dev/pulse/internal/store"
)

// userDay is a day a user was active.
type userDay struct {
	User string
	Day  int64
}

// activeDays reads ActiveUsers over [fromDay, toDay) as the days each user
// was active, sorted, whatever the store's spans; it fails on a span
// longer than store.ActiveDaysSpan, a day outside the range, or a day
// given twice.
func activeDays(t *testing.T, s store.Activity, eventType string, fromDay, toDay int64) []userDay {
	t.Helper()
	var out []userDay
	err := s.ActiveUsers(t.Context(), eventType, fromDay, toDay, func(u store.ActiveDays) error {
		if u.Days>>store.ActiveDaysSpan != 0 {
			t.Errorf("ActiveUsers: %s's span from day %d holds bits past %d days: %b", u.UserID, u.From, store.ActiveDaysSpan, u.Days)
		}
		for d := u.Days; d != 0; d &= d - 1 {
			day := u.From + int64(bits.TrailingZeros64(d))
			if day < fromDay || day >= toDay {
				t.Errorf("ActiveUsers(%d, %d): %s active on day %d, outside the range", fromDay, toDay, u.UserID, day)
			}
			out = append(out, userDay{u.UserID, day})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ActiveUsers: %v", err)
	}
	slices.SortFunc(out, func(a, b userDay) int { return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Day, b.Day)) })
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			t.Errorf("ActiveUsers(%d, %d): %s's day %d given twice", fromDay, toDay, out[i].User, out[i].Day)
		}
	}
	return out
}
