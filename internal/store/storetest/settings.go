package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pulse-dev/pulse/internal/store"
)

// Settings round-trip verbatim and PutSetting replaces; InitSetting keeps
// the first value stored, even when many callers race to store theirs,
// and every caller reads the one that won.
func testSettings(t *testing.T, s store.Store) {
	ctx := t.Context()
	if v, ok, err := s.Setting(ctx, "absent"); err != nil || ok || v != "" {
		t.Fatalf("Setting(absent) = %q, %v, %v; want none", v, ok, err)
	}
	value := `["user_id","properties.e-mail — « adresse »"]`
	for _, v := range []string{"first", value} {
		if err := s.PutSetting(ctx, "fields", v); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := s.Setting(ctx, "fields"); err != nil || !ok || v != value {
		t.Fatalf("Setting(fields) = %q, %v, %v; want %q", v, ok, err, value)
	}
	if v, err := s.InitSetting(ctx, "fields", "other"); err != nil || v != value {
		t.Fatalf("InitSetting on a stored key = %q, %v; want the stored %q", v, err, value)
	}

	const racers = 8
	got := make([]string, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			v, err := s.InitSetting(ctx, "key", fmt.Sprint("secret-", i))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	stored, _, err := s.Setting(ctx, "key")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != stored {
			t.Errorf("racer %d read %q, the stored value is %q", i, v, stored)
		}
	}
}
