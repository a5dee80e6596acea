package privacy

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// A person who browsed anonymously, then signed in: erasing their user_id
// erases the events stored under their browser's anonymous id too, and
// keeps both ids from coming back; another visitor is untouched.
func TestEraseUserFollowsTheAnonymousIDs(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	rec := func(id, user, anon string) store.Record {
		e := &event.Event{EventID: id, UserID: user, AnonymousID: anon, EventType: event.TypePageView}
		return store.Record{Event: e, Message: event.Message{EventID: id, UserID: user, EventType: e.EventType, Status: event.StatusCompleted}}
	}
	var batch []store.Record
	for i := range 3 {
		batch = append(batch,
			rec(fmt.Sprint("before-", i), "anon-laptop", "anon-laptop"), // before sign-in: the anonymous id is the user
			rec(fmt.Sprint("after-", i), "ada", "anon-laptop"),
			rec(fmt.Sprint("phone-", i), "ada", "anon-phone"),
			rec(fmt.Sprint("other-", i), "anon-other", "anon-other"))
	}
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	res, err := EraseUser(t.Context(), db, "ada", "test")
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 9 || res.Messages != 9 || len(res.Linked) != 2 || res.UserHash != store.UserHash("ada") {
		t.Fatalf("erasure: %+v", res)
	}
	if got := res.Summary(); got != "9 events, 9 processing-log rows deleted, with 2 linked anonymous ids" {
		t.Errorf("summary %q", got)
	}
	totals, err := db.Totals(t.Context(), batch[0].Event.Timestamp)
	if err != nil || totals.Events != 3 {
		t.Fatalf("left %d events, want the other visitor's 3: %v", totals.Events, err)
	}
	out, err := db.Write(t.Context(), []store.Record{rec("new-1", "anon-laptop", "anon-laptop"), rec("new-2", "anon-phone", "anon-phone"), rec("new-3", "anon-other", "anon-other")})
	if err != nil {
		t.Fatal(err)
	}
	if !out[0].Suppressed || !out[1].Suppressed || out[2].Suppressed || !out[2].New {
		t.Errorf("after the erasure, writes: %+v", out)
	}
}
