package sqlite

import (
	"path/filepath"
	"sync"
	"testing"
)

// TestConcurrentOpenOfANewFile: three openers of one new file (as three
// `pulse consume` processes starting together) all succeed; without the
// lock they raced to create the same tables.
func TestConcurrentOpenOfANewFile(t *testing.T) {
	for round := range 10 {
		path := filepath.Join(t.TempDir(), "pulse.db")
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 3 {
			wg.Go(func() {
				db, err := Open(t.Context(), path, Options{}, nil)
				if err != nil {
					errs <- err
					return
				}
				errs <- db.Close()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}
