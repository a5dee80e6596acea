package auth

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// TestPasswordChecksAreBounded: sign-ins from many addresses, each
// within its limit, wait for one of a few turns to check a password
// (each takes 19 MiB), and past a while are told to come back, never
// queued without end.
func TestPasswordChecksAreBounded(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(db, Options{Hash: cheap, HashWait: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAccount(t.Context(), NewAccount{Email: "ada@example.com", Role: "admin", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	// Every turn taken, as by sign-ins in progress.
	for range cap(s.hashing) {
		s.hashing <- struct{}{}
	}
	start := time.Now()
	_, err = s.Login(t.Context(), "ada@example.com", "correct horse", "192.0.2.1", "")
	var limited *RateLimitedError
	if !errors.As(err, &limited) || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("with every turn taken: %v after %v", err, time.Since(start))
	}
	<-s.hashing
	if _, err := s.Login(t.Context(), "ada@example.com", "correct horse", "192.0.2.2", ""); err != nil {
		t.Fatalf("with a turn free: %v", err)
	}
	if len(s.hashing) != cap(s.hashing)-1 {
		t.Fatalf("the sign-in kept its turn: %d of %d taken", len(s.hashing), cap(s.hashing))
	}
}
