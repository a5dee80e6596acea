package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Erasure removes a user's data and keeps it from coming back. The
// suppression list keeps the SHA-256 of each erased user_id, never the id
// itself: the list must not be the one place that still names the user.
type Erasure interface {
	// EraseUser puts userID on the suppression list and deletes, in one
	// transaction, every stored event and processing-log row of the user
	// and what the aggregates counted of them, the user's first seen and
	// activity. by says who asked. Erasing a user already on the list
	// deletes whatever of the user is still stored and reports Already.
	EraseUser(ctx context.Context, userID, by string) (Erased, error)
	// Suppressions returns the users erased before before (any time when
	// zero), newest first, at most limit (0: DefaultLimit, capped at
	// MaxLimit): the next page is before the last one's ErasedAt.
	Suppressions(ctx context.Context, before time.Time, limit int) ([]Suppression, error)
}

// Erased is what EraseUser did.
type Erased struct {
	UserHash string `json:"user_hash"`
	// Events and Messages count the rows this erasure deleted.
	Events   int64 `json:"events"`
	Messages int64 `json:"messages"`
	// Already says the user was on the suppression list before.
	Already bool `json:"already"`
}

// Suppression is one erased user.
type Suppression struct {
	UserHash string    `json:"user_hash"`
	ErasedAt time.Time `json:"erased_at"`
	ErasedBy string    `json:"erased_by"`
	// Events and Messages count the rows the erasures of the user
	// deleted.
	Events   int64 `json:"events"`
	Messages int64 `json:"messages"`
}

// UserHash is the suppression list's key of userID: its SHA-256, in hex.
func UserHash(userID string) string {
	h := sha256.Sum256([]byte(userID))
	return hex.EncodeToString(h[:])
}

// ErasedExample replaces a tracking-plan warning's example that names an
// erased user (a JSON string, as a cut example is).
const ErasedExample = `"(erased)"`

// RecordUser is the user_id that decides whether a record is suppressed:
// its event's, or its message's for a record without an event.
func RecordUser(r *Record) string {
	if r.Event != nil {
		return r.Event.UserID
	}
	return r.Message.UserID
}

// BatchUsers maps each distinct user of batches (RecordUser) to its
// UserHash: a store checks the suppression list for all of them in one
// query, each user hashed once.
func BatchUsers(batches ...[]Record) map[string]string {
	users := map[string]string{}
	for _, b := range batches {
		for i := range b {
			u := RecordUser(&b[i])
			if _, ok := users[u]; !ok {
				users[u] = UserHash(u)
			}
		}
	}
	return users
}
