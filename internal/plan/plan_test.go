package plan

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pulse-dev/pulse/internal/store"
)

func entry(t, schema string) store.PlanEntry {
	return store.PlanEntry{EventType: t, Schema: json.RawMessage(schema)}
}

const signupSchema = `{
	"type": "object",
	"required": ["plan"],
	"properties": {
		"plan": {"enum": ["free", "pro"]},
		"seats": {"type": "integer", "minimum": 1},
		"email": {"type": "string", "format": "email"},
		"address": {"$ref": "#/$defs/address"}
	},
	"additionalProperties": false,
	"$defs": {"address": {"type": "object", "required": ["country"], "properties": {"country": {"type": "string", "pattern": "^[A-Z]{2}$"}}}}
}`

func TestCheck(t *testing.T) {
	p, err := Compile([]store.PlanEntry{entry("signup", signupSchema), entry("anything", `true`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, typ, props string
		key, field, says string
	}{
		{"keeps it", "signup", `{"plan":"pro","seats":3,"email":"a@b.example","address":{"country":"FR"}}`, "", "", ""},
		{"true takes anything", "anything", `{"x":[1,{"y":null}]}`, "", "", ""},
		{"true takes none", "anything", ``, "", "", ""},
		{"unknown type", "sign_up", `{}`, store.ProblemUnknownType, "event_type", `"sign_up" is not in the tracking plan`},
		{"missing", "signup", `{"seats":3}`, "/required", "properties", "plan"},
		{"no properties at all", "signup", ``, "/required", "properties", "plan"},
		{"not allowed", "signup", `{"plan":"enterprise"}`, "/properties/plan/enum", "properties.plan", "free"},
		{"wrong type", "signup", `{"plan":"pro","seats":"3"}`, "/properties/seats/type", "properties.seats", "integer"},
		{"a float is no integer", "signup", `{"plan":"pro","seats":1.5}`, "/properties/seats/type", "properties.seats", "integer"},
		{"below minimum", "signup", `{"plan":"pro","seats":0}`, "/properties/seats/minimum", "properties.seats", "1"},
		{"format", "signup", `{"plan":"pro","email":"not an address"}`, "/properties/email/format", "properties.email", "email"},
		{"extra", "signup", `{"plan":"pro","coupon":"X"}`, "/additionalProperties", "properties", "coupon"},
		{"through a ref", "signup", `{"plan":"pro","address":{"country":"france"}}`, "/$defs/address/properties/country/pattern", "properties.address.country", "^[A-Z]{2}$"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := p.Check(c.typ, json.RawMessage(c.props))
			if c.key == "" {
				if got != nil {
					t.Fatalf("got %+v, want none", got)
				}
				return
			}
			if got == nil {
				t.Fatal("kept the plan, want a problem")
			}
			if got.Key != c.key || got.Field != c.field || !strings.Contains(got.Reason, c.says) {
				t.Fatalf("got %+v, want key %q field %q saying %q", got, c.key, c.field, c.says)
			}
		})
	}
}

func TestEmptyPlanKnowsNoType(t *testing.T) {
	var p *Plan
	if got := p.Check("page_view", nil); got == nil || got.Key != store.ProblemUnknownType {
		t.Fatalf("nil plan: %+v", got)
	}
}

func TestCompileRefusesWithTheReason(t *testing.T) {
	for _, c := range []struct {
		name  string
		e     store.PlanEntry
		field string
		says  string
	}{
		{"bad type name", entry("Sign Up", `{}`), "event_type", "must match"},
		{"no schema", entry("signup", ``), "schema", "required"},
		{"not JSON", entry("signup", `{"type":`), "schema", "not JSON"},
		{"not a schema", entry("signup", `{"type":"strnig"}`), "schema", "at /type: value must be one of"},
		{"bad pattern", entry("signup", `{"properties":{"a":{"pattern":"(["}}}`), "schema", "pattern"},
		{"remote ref", entry("signup", `{"$ref":"https://example.com/s.json"}`), "schema", "not allowed"},
		{"file ref", entry("signup", `{"$ref":"file:///etc/passwd"}`), "schema", "not allowed"},
		{"dangling ref", entry("signup", `{"$ref":"#/$defs/nope"}`), "schema", "nope"},
		{"too big", entry("signup", `{"description":"`+strings.Repeat("x", MaxSchemaBytes)+`"}`), "schema", "over the limit"},
		{"long description", store.PlanEntry{EventType: "signup", Schema: json.RawMessage(`{}`), Description: strings.Repeat("d", MaxDescriptionBytes+1)}, "description", "over the limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckEntry(c.e)
			var inv *Invalid
			if !errors.As(err, &inv) {
				t.Fatalf("err %v, want *Invalid", err)
			}
			if inv.Field != c.field || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err %q (field %q), want field %q saying %q", err, inv.Field, c.field, c.says)
			}
		})
	}
	if _, err := Compile([]store.PlanEntry{entry("a", `{}`), entry("a", `{}`)}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a type twice: %v", err)
	}
}

func TestCheckMode(t *testing.T) {
	for in, want := range map[string]string{"": ModeOff, "off": ModeOff, "warn": ModeWarn, "strict": ModeStrict} {
		if got, err := CheckMode(in); err != nil || got != want {
			t.Errorf("CheckMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := CheckMode("STRICT"); err == nil {
		t.Error("STRICT accepted")
	}
}

type fakeReader struct {
	entries []store.PlanEntry
	err     error
}

func (f *fakeReader) PlanEntries(context.Context) ([]store.PlanEntry, error) { return f.entries, f.err }

func TestRegistryKeepsTheLastGoodPlan(t *testing.T) {
	db := &fakeReader{err: errors.New("database down")}
	r := NewRegistry(db, nil)
	if err := r.Load(t.Context()); err == nil {
		t.Fatal("a failed read loaded")
	}
	if _, err := r.Current(); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("before any load: %v", err)
	}
	db.entries, db.err = []store.PlanEntry{entry("signup", `{"required":["plan"]}`)}, nil
	if err := r.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	db.err = errors.New("database down again")
	_ = r.Load(t.Context())
	p, err := r.Current()
	if err != nil || len(p.Types()) != 1 || p.Types()[0] != "signup" {
		t.Fatalf("after a failed reload: %v %v", p.Types(), err)
	}
}
