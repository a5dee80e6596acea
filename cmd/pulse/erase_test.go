package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
	"github.com/pulse-dev/pulse/test/pulsetest"
)

// TestEraseCommand: pulse erase deletes a user's events in the database
// serve opens, puts the user on the suppression list, says what it did,
// and writes an audit entry that names the user only by hash; mistakes
// of the command line exit 2.
func TestEraseCommand(t *testing.T) {
	dataDir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dataDir, "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.Record
	for i, user := range []string{"u-erase", "u-erase", "u-keep"} {
		e := &event.Event{EventID: "e" + string(rune('0'+i)), UserID: user, EventType: event.TypePageView}
		batch = append(batch, store.Record{Event: e, Message: event.Message{EventID: e.EventID, UserID: user, EventType: e.EventType,
			Status: event.StatusCompleted, Topic: "user_events", Offset: int64(i)}})
	}
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	erase := func(args ...string) (string, error) {
		var out, errOut pulsetest.Buffer
		err := runErase(t.Context(), args, &out, &errOut)
		return out.String(), err
	}
	dir := "--data-dir=" + dataDir
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{dir}, "--user-id is required"},
		{[]string{dir, "u-erase"}, "unexpected arguments"},
		{[]string{dir, "--user-id", strings.Repeat("x", event.MaxIDLen+1)}, "longer than"},
	} {
		if out, err := erase(tc.args...); exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("erase %q: exit %d, %v %s; want 2 with %q", tc.args, exitCode(err), err, out, tc.want)
		}
	}
	out, err := erase(dir, "--user-id", "u-erase", "--json")
	var res store.Erased
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Events != 2 || res.Messages != 2 || res.UserHash != store.UserHash("u-erase") {
		t.Fatalf("erase: %v %s", err, out)
	}
	if out, err := erase(dir, "--user-id", "u-erase"); err != nil || !strings.Contains(out, "0 events") || !strings.Contains(out, "erased before") {
		t.Fatalf("erase again: %v %s", err, out)
	}

	db, err = sqlite.Open(t.Context(), filepath.Join(dataDir, "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if totals, err := db.Totals(t.Context(), time.Now()); err != nil || totals.Events != 1 {
		t.Fatalf("totals after the erasure: %+v %v", totals, err)
	}
	entries, err := db.AuditLog(t.Context(), store.AuditFilter{Action: "pulse erase"})
	if err != nil || len(entries) != 2 || entries[1].Target != "user "+store.UserHash("u-erase") || entries[1].Detail != "2 events, 2 processing-log rows deleted" {
		t.Fatalf("audit: %+v %v", entries, err)
	}
	for _, e := range entries {
		if strings.Contains(e.Target+e.Detail, "u-erase") {
			t.Errorf("the audit entry names the user: %+v", e)
		}
	}
}
