package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// CheckActivityBackfill checks that an upgrade gave user, whose one
// page_view was stored before it at at, a first seen and a day of
// activity.
func CheckActivityBackfill(t *testing.T, db store.Activity, user string, at time.Time) {
	t.Helper()
	var firsts []store.FirstSeen
	if err := db.FirstSeenBetween(t.Context(), at, at.Add(time.Second), func(f store.FirstSeen) error {
		firsts = append(firsts, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []store.FirstSeen{{UserID: user, At: at}}; !reflect.DeepEqual(firsts, want) {
		t.Errorf("first seen after the upgrade = %v, want %v", firsts, want)
	}
	for _, typ := range []string{"", "page_view"} {
		var active []store.ActiveUser
		if err := db.ActiveUsers(t.Context(), typ, store.Day(at), store.Day(at)+1, func(u store.ActiveUser) error {
			active = append(active, u)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if want := []store.ActiveUser{{Day: store.Day(at), UserID: user}}; !reflect.DeepEqual(active, want) {
			t.Errorf("activity of type %q after the upgrade = %v, want %v", typ, active, want)
		}
	}
}
