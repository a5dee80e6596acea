package sources

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

type fakeLister struct {
	mu    sync.Mutex
	all   []store.Source
	err   error
	reads int
}

func (f *fakeLister) Sources(context.Context) ([]store.Source, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return append([]store.Source(nil), f.all...), f.err
}

func (f *fakeLister) set(all []store.Source, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all, f.err = all, err
}

func mustNew(t *testing.T, name string) store.Source {
	t.Helper()
	s, err := New(name, []string{"https://" + name + ".example"}, store.SourceSettings{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegistryFindsNewKeysAndForgetsRevokedOnes(t *testing.T) {
	ctx := t.Context()
	db := &fakeLister{}
	r := NewRegistry(db, nil)
	r.missRefresh = 0
	shop := mustNew(t, "shop")
	if _, ok, err := r.Lookup(ctx, shop.WriteKey); ok || err != nil {
		t.Fatalf("unknown key: found %v, err %v", ok, err)
	}
	db.set([]store.Source{shop}, nil)
	if s, ok, err := r.Lookup(ctx, shop.WriteKey); !ok || err != nil || s.ID != shop.ID {
		t.Fatalf("created key: %+v %v %v", s, ok, err)
	}
	revoked := shop
	at := time.Now()
	revoked.RevokedAt = &at
	db.set([]store.Source{revoked}, nil)
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Lookup(ctx, shop.WriteKey); ok {
		t.Fatal("a revoked key is still found")
	}
}

func TestRegistryBoundsReloadsOnUnknownKeys(t *testing.T) {
	ctx := t.Context()
	db := &fakeLister{}
	r := NewRegistry(db, nil)
	r.missRefresh = time.Hour
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if _, ok, _ := r.Lookup(ctx, "pk_made_up_"+string(rune('a'+i%26))); ok {
			t.Fatal("made-up key found")
		}
	}
	if db.reads != 1 {
		t.Fatalf("%d reads of the sources for 1,000 unknown keys, want the 1 of Load", db.reads)
	}
}

func TestRegistryUnreadableSourcesAreNotAnUnknownKey(t *testing.T) {
	ctx := t.Context()
	shop := mustNew(t, "shop")
	db := &fakeLister{all: []store.Source{shop}}
	r := NewRegistry(db, nil)
	r.missRefresh = 0
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	db.set(nil, errors.New("database is down"))
	if _, ok, err := r.Lookup(ctx, shop.WriteKey); !ok || err != nil {
		t.Fatalf("a loaded key is lost when the database fails: %v %v", ok, err)
	}
	if _, ok, err := r.Lookup(ctx, "pk_other"); ok || err == nil {
		t.Fatalf("an unknown key while the sources cannot be read: found %v, err %v; want an error", ok, err)
	}
}

func TestNewChecksWhatItIsGiven(t *testing.T) {
	s := mustNew(t, "shop")
	if len(s.WriteKey) != len(KeyPrefix)+32 || len(s.ID) != len(IDPrefix)+16 {
		t.Fatalf("id %q key %q", s.ID, s.WriteKey)
	}
	if s2 := mustNew(t, "shop"); s2.WriteKey == s.WriteKey || s2.ID == s.ID {
		t.Fatal("two sources share an id or a key")
	}
	for _, tc := range []struct {
		name    string
		origins []string
		field   string
	}{
		{"", nil, "name"},
		{"src_x", nil, "name"},
		{"a\u202eb", nil, "name"},
		{string(make([]byte, 65)), nil, "name"},
		{"ok", []string{"https://ok.example", "https://ok.example/path"}, "origins[1]"},
		{"ok", []string{"javascript:alert(1)"}, "origins[0]"},
	} {
		_, err := New(tc.name, tc.origins, store.SourceSettings{}, time.Now())
		var inv *Invalid
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Errorf("New(%q, %q): %v, want an error on %s", tc.name, tc.origins, err, tc.field)
		}
	}
	got, err := New(" shop ", []string{"https://Shop.example/", "https://shop.example"}, store.SourceSettings{}, time.Now())
	if err != nil || got.Name != "shop" || len(got.Origins) != 1 || got.Origins[0] != "https://shop.example" {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestFindByIDOrName(t *testing.T) {
	a, b := mustNew(t, "a"), mustNew(t, "b")
	all := []store.Source{a, b}
	if s, ok := Find(all, b.ID); !ok || s.Name != "b" {
		t.Fatal("by id")
	}
	if s, ok := Find(all, "a"); !ok || s.ID != a.ID {
		t.Fatal("by name")
	}
	if _, ok := Find(all, "c"); ok {
		t.Fatal("unknown found")
	}
}
