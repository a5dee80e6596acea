package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// Saved insights round-trip verbatim (a query with every URL character,
// a name in any script), update only what a change names, and an unknown
// id is ErrNotFound.
func testSavedInsights(t *testing.T, s store.Store) {
	ctx := t.Context()
	if all, err := s.SavedInsightList(ctx); err != nil || all == nil || len(all) != 0 {
		t.Fatalf("no saved insights: %v %v, want an empty list", all, err)
	}
	signups := store.SavedInsight{ID: "ins_1", Name: "Inscriptions — « pro » 日本", Kind: "trend",
		Query: "type=signup&where=properties.plan%3Ain%3Apro%2Cteam&measure=users&x=%25%26%3D", CreatedAt: base, UpdatedAt: base}
	funnel := store.SavedInsight{ID: "ins_2", Name: "Checkout", Kind: "funnel", Query: "step=page_view&step=purchase",
		Pinned: true, CreatedAt: base.Add(time.Second), UpdatedAt: base.Add(time.Second)}
	for _, in := range []store.SavedInsight{funnel, signups} {
		if err := s.SaveInsight(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.SavedInsightList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, []store.SavedInsight{signups, funnel}) {
		t.Fatalf("saved insights read back as %+v", all)
	}
	pinned, renamed := true, "Signups by plan"
	at := base.Add(time.Hour)
	got, err := s.UpdateInsight(ctx, "ins_1", store.InsightChange{Pinned: &pinned, At: at})
	want := signups
	want.Pinned, want.UpdatedAt = true, at
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("pin: %+v %v, want %+v", got, err, want)
	}
	got, err = s.UpdateInsight(ctx, "ins_1", store.InsightChange{Name: &renamed, At: at.Add(time.Minute)})
	want.Name, want.UpdatedAt = renamed, at.Add(time.Minute)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("rename: %+v %v, want %+v", got, err, want)
	}
	if _, err := s.UpdateInsight(ctx, "ins_9", store.InsightChange{Name: &renamed, At: at}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of an unknown id: %v, want ErrNotFound", err)
	}
	if err := s.DeleteInsight(ctx, "ins_2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteInsight(ctx, "ins_2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if all, err := s.SavedInsightList(ctx); err != nil || !reflect.DeepEqual(all, []store.SavedInsight{want}) {
		t.Fatalf("after delete: %+v %v", all, err)
	}
}
