package privacy

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// Two processes on one database: they share the masking key, so a value
// has one pseudonym, and a declaration made in one masks in the other
// within a couple of seconds, without a restart.
func TestServicesOnOneStoreAgree(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	a, err := Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Fields(); !slices.Equal(got, []string{"anonymous_id", "session_id", "user_id"}) {
		t.Fatalf("default fields %v", got)
	}
	if a.Masker().Value("u1") != b.Masker().Value("u1") {
		t.Fatal("two processes mask one value differently: the key is not shared")
	}
	if _, err := a.SetFields(t.Context(), []string{"user_id", "properties.email"}); err != nil {
		t.Fatal(err)
	}
	if !a.Masker().Fields().Personal("properties.email") {
		t.Fatal("the process that declared a field does not mask it at once")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !b.Masker().Fields().Personal("properties.email") {
		if time.Now().After(deadline) {
			t.Fatal("the other process does not mask the new field after 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b.Masker().Fields().Personal("session_id") {
		t.Error("the other process still masks session_id, taken out of the declaration")
	}
	if _, err := a.SetFields(t.Context(), []string{"email"}); err == nil {
		t.Error("a field no event has was declared")
	}
}
