package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// testPlanEntries: put, replace one, read back verbatim, delete, replace
// the whole plan.
func testPlanEntries(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Key order and spacing are the user's: a schema reads back as sent.
	signup := store.PlanEntry{EventType: "signup", Description: "A new account",
		Schema: json.RawMessage(`{"type":"object", "required":["plan"],"properties":{"plan":{"enum":["free","pro"]}}}`), UpdatedAt: base}
	if err := s.PutPlanEntry(ctx, signup); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPlanEntry(ctx, store.PlanEntry{EventType: "checkout", Schema: json.RawMessage(`{}`), UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	signup.Description, signup.UpdatedAt = "An account made", base.Add(time.Minute)
	if err := s.PutPlanEntry(ctx, signup); err != nil {
		t.Fatal(err)
	}
	got, err := s.PlanEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].EventType != "checkout" || got[1].EventType != "signup" {
		t.Fatalf("plan %+v", got)
	}
	if g := got[1]; string(g.Schema) != string(signup.Schema) || g.Description != "An account made" || !g.UpdatedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("signup read back as %+v (schema %s)", g, g.Schema)
	}
	if err := s.DeletePlanEntry(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePlanEntry(ctx, "checkout"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting it again: %v, want ErrNotFound", err)
	}
	if err := s.ReplacePlan(ctx, []store.PlanEntry{
		{EventType: "a", Schema: json.RawMessage(`{"type":"object"}`), UpdatedAt: base},
		{EventType: "b", Schema: json.RawMessage(`true`), UpdatedAt: base},
	}); err != nil {
		t.Fatal(err)
	}
	got, err = s.PlanEntries(ctx)
	if err != nil || len(got) != 2 || got[0].EventType != "a" || got[1].EventType != "b" {
		t.Fatalf("after replace: %+v %v", got, err)
	}
	if err := s.ReplacePlan(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, err = s.PlanEntries(ctx); err != nil || len(got) != 0 {
		t.Fatalf("after an empty replace: %+v %v", got, err)
	}
}

// testPlanWarnings: counts add up per key, the latest example wins, the
// first time stays, a source's unknown types are bounded, retention.
func testPlanWarnings(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	w := store.PlanWarning{SourceID: "src_a", EventType: "signup", Problem: "/properties/plan/enum",
		Field: "properties.plan", Reason: "value must be one of 'free', 'pro'", Warned: 2,
		Example: json.RawMessage(`{"event_type":"signup","n":1}`), FirstAt: now.Add(-time.Minute), LastAt: now.Add(-time.Minute)}
	if err := s.AddPlanWarnings(ctx, []store.PlanWarning{w}); err != nil {
		t.Fatal(err)
	}
	w2 := w
	w2.Warned, w2.Rejected, w2.Example, w2.FirstAt, w2.LastAt = 1, 3, json.RawMessage(`{"event_type":"signup","n":2}`), now, now
	old := store.PlanWarning{SourceID: "src_b", EventType: "x", Problem: store.ProblemUnknownType, Field: "event_type",
		Reason: "not in the plan", Warned: 1, Example: json.RawMessage(`"cut"`),
		FirstAt: now.Add(-store.WarningKeep - time.Hour), LastAt: now.Add(-store.WarningKeep - time.Hour)}
	if err := s.AddPlanWarnings(ctx, []store.PlanWarning{w2, old}); err != nil {
		t.Fatal(err)
	}
	got, err := s.PlanWarnings(ctx, "", now.Add(-store.WarningKeep-2*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("warnings %+v", got)
	}
	if g := got[0]; g.Warned != 3 || g.Rejected != 3 || string(g.Example) != `{"event_type":"signup","n":2}` ||
		!g.FirstAt.Equal(w.FirstAt) || !g.LastAt.Equal(now) || g.Field != "properties.plan" {
		t.Fatalf("added up as %+v (example %s)", g, g.Example)
	}
	if got, err := s.PlanWarnings(ctx, "src_b", now.Add(-store.WarningKeep-2*time.Hour), 100); err != nil || len(got) != 1 || got[0].SourceID != "src_b" {
		t.Fatalf("one source's: %+v %v", got, err)
	}
	if _, err := s.Retain(ctx, store.Retention{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PlanWarnings(ctx, "", time.Time{}, 100); err != nil || len(got) != 1 || got[0].SourceID != "src_a" {
		t.Fatalf("after retention: %+v %v", got, err)
	}

	// A client making up types gets MaxUnknownTypes rows, then one more
	// for the rest; a type it has a row for keeps counting there.
	var flood []store.PlanWarning
	for i := range store.MaxUnknownTypes + 50 {
		flood = append(flood, store.PlanWarning{SourceID: "src_c", EventType: fmt.Sprintf("made_up_%03d", i),
			Problem: store.ProblemUnknownType, Field: "event_type", Reason: "not in the plan", Rejected: 1,
			Example: json.RawMessage(`{}`), FirstAt: now, LastAt: now})
	}
	if err := s.AddPlanWarnings(ctx, flood); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPlanWarnings(ctx, flood[:1]); err != nil {
		t.Fatal(err)
	}
	got, err = s.PlanWarnings(ctx, "src_c", time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.MaxUnknownTypes+1 {
		t.Fatalf("%d rows for %d made-up types, want %d", len(got), len(flood), store.MaxUnknownTypes+1)
	}
	var total int64
	for _, g := range got {
		total += g.Rejected
		if g.EventType == store.OtherEventTypes && g.Rejected != 50 {
			t.Errorf("%s counted %d, want 50", store.OtherEventTypes, g.Rejected)
		}
		if g.EventType == "made_up_000" && g.Rejected != 2 {
			t.Errorf("a known made-up type counted %d, want 2", g.Rejected)
		}
	}
	if total != int64(len(flood))+1 {
		t.Fatalf("counted %d, want %d", total, len(flood)+1)
	}
}

// testUpdateSource: origins and settings replaced, the rest kept.
func testUpdateSource(t *testing.T, s store.Store) {
	ctx := t.Context()
	src := store.Source{ID: "src_u", Name: "shop", WriteKey: "pk_u", Origins: []string{"https://a.example"}, CreatedAt: base}
	if err := s.CreateSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateSource(ctx, "src_u", []string{"https://b.example"}, store.SourceSettings{RespectDNT: true, Plan: "strict"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "shop" || got.WriteKey != "pk_u" || len(got.Origins) != 1 || got.Origins[0] != "https://b.example" ||
		!got.Settings.RespectDNT || got.Settings.Plan != "strict" || !got.CreatedAt.Equal(base) {
		t.Fatalf("updated as %+v", got)
	}
	all, err := s.Sources(ctx)
	if err != nil || len(all) != 1 || all[0].Settings.Plan != "strict" {
		t.Fatalf("read back as %+v %v", all, err)
	}
	if _, err := s.UpdateSource(ctx, "src_none", nil, store.SourceSettings{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("updating an unknown source: %v", err)
	}
}
