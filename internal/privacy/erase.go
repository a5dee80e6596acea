package privacy

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// EraseStore is what an erasure reads and deletes; both stores satisfy it.
type EraseStore interface {
	store.Erasure
	ExportEvents(ctx context.Context, q store.EventQuery, fn func(event.Stored) error) error
}

// MaxLinked bounds the anonymous ids one erasure follows.
const MaxLinked = 1000

// errTooManyLinked stops the walk of a user's events.
var errTooManyLinked = errors.New("too many linked anonymous ids")

// Erasure is what erasing a person did.
type Erasure struct {
	// UserHash and Already are the user_id's erasure's (store.Erased).
	UserHash string `json:"user_hash"`
	Already  bool   `json:"already"`
	// Events and Messages count the rows deleted, the linked ids' too.
	Events   int64 `json:"events"`
	Messages int64 `json:"messages"`
	// Linked are the erasures of the anonymous ids seen on the user's
	// events: the tracker's ids of their browsers, under which their
	// events before sign-in were stored (event.Decode makes the anonymous
	// id the user_id until a user_id is given).
	Linked []store.Erased `json:"linked"`
}

// EraseUser erases a person: first every anonymous id their stored
// events carry (at most MaxLinked), then their user_id, each in its own
// transaction (store.Erasure). In that order, a crash between them is
// mended by erasing again: the user's events, which name the anonymous
// ids, are deleted last.
func EraseUser(ctx context.Context, st EraseStore, userID, by string) (Erasure, error) {
	anon := map[string]bool{}
	err := st.ExportEvents(ctx, store.EventQuery{UserID: userID}, func(e event.Stored) error {
		if e.AnonymousID == "" || e.AnonymousID == userID || anon[e.AnonymousID] {
			return nil
		}
		if len(anon) == MaxLinked {
			return errTooManyLinked
		}
		anon[e.AnonymousID] = true
		return nil
	})
	if err != nil && !errors.Is(err, errTooManyLinked) {
		return Erasure{}, fmt.Errorf("read the user's anonymous ids: %w", err)
	}
	out := Erasure{Linked: []store.Erased{}}
	for a := range anon {
		res, err := st.EraseUser(ctx, a, by)
		if err != nil {
			return Erasure{}, fmt.Errorf("erase a linked anonymous id: %w", err)
		}
		out.Linked = append(out.Linked, res)
		out.Events += res.Events
		out.Messages += res.Messages
	}
	res, err := st.EraseUser(ctx, userID, by)
	if err != nil {
		return Erasure{}, err
	}
	out.UserHash, out.Already = res.UserHash, res.Already
	out.Events += res.Events
	out.Messages += res.Messages
	return out, nil
}

// Summary says what e deleted, for the audit log: counts and hashes,
// never an id.
func (e Erasure) Summary() string {
	s := fmt.Sprintf("%d %s, %d processing-log %s deleted", e.Events, plural(e.Events, "event", "events"),
		e.Messages, plural(e.Messages, "row", "rows"))
	if n := len(e.Linked); n > 0 {
		s += fmt.Sprintf(", with %d linked anonymous %s", n, plural(int64(n), "id", "ids"))
	}
	if e.Already {
		s += "; erased before"
	}
	return s
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
