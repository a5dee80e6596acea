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
		active := activeDays(t, db, typ, store.Day(at), store.Day(at)+1)
		if want := []userDay{{user, store.Day(at)}}; !reflect.DeepEqual(active, want) {
			t.Errorf("activity of type %q after the upgrade = %v, want %v", typ, active, want)
		}
	}
}

// CheckUniquesBackfill checks that an upgrade counted user, whose one
// page_view was stored before it at at, in the sketches of its hour and
// day.
func CheckUniquesBackfill(t *testing.T, db store.Uniques, user string, at time.Time) {
	t.Helper()
	for _, w := range store.UniqueWidths {
		b := store.RollupBucket(at, w)
		var rows []store.UniqueRow
		err := db.UniqueSketches(t.Context(), store.UniqueQuery{Width: w, From: time.Unix(b, 0), To: time.Unix(b+1, 0)},
			func(r store.UniqueRow) error {
				rows = append(rows, r)
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].EventType != "page_view" || rows[0].Bucket != b {
			t.Fatalf("sketches of width %d after the upgrade: %+v, want one of page_view in %d", w, rows, b)
		}
		users, err := store.DecodeSketch(rows[0].Users)
		if err != nil {
			t.Fatal(err)
		}
		want := store.NewSketch()
		want.Insert([]byte(user))
		if users.Estimate() != 1 {
			t.Errorf("users of width %d after the upgrade: %d, want 1", w, users.Estimate())
		}
		if err := want.Merge(users); err != nil || want.Estimate() != 1 {
			t.Errorf("the sketch of width %d holds another user than %q", w, user)
		}
	}
}
