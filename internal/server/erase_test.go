package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/deadletter"
	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// TestAnErasedUserNeverComesBack: an admin erases a user through the API;
// the user's events and processing-log rows go, and neither a DLQ replay
// of a record dead-lettered before the erasure nor a redelivery of the
// user's events stores anything of them again: each is dead-lettered with
// the reason. The other user's events stay, and neither the audit log nor
// the suppression list names the user.
func TestAnErasedUserNeverComesBack(t *testing.T) {
	r := startOps(t, nil)
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	var gone, kept []*event.Event
	for i := range 3 {
		gone = append(gone, &event.Event{EventID: fmt.Sprintf("gone-%d", i), UserID: "erase-me", EventType: event.TypePageView,
			ElementID: "nav", Timestamp: at.Add(time.Duration(i) * time.Second)})
	}
	for i := range 2 {
		kept = append(kept, &event.Event{EventID: fmt.Sprintf("kept-%d", i), UserID: "keep-me", EventType: event.TypeButtonClick,
			ElementID: "cta", Timestamp: at})
	}
	failing := &event.Event{EventID: "gone-failing", UserID: "erase-me", EventType: event.TypeButtonClick, ElementID: "pay",
		ShouldFail: true, Timestamp: at}
	produce(t, r, append(append(append([]*event.Event{}, gone...), kept...), failing))
	waitSettled(t, r, 5)
	dlqTotal := func(want int64) {
		t.Helper()
		eventually(t, 30*time.Second, fmt.Sprintf("%d dead letters", want), func() (bool, string) {
			var list deadletter.View
			getJSON(t, r.url("/api/dlq/?limit=100"), &list)
			return list.Total >= want, fmt.Sprintf("%+v", list)
		})
	}
	dlqTotal(1)

	var erased store.Erased
	if code, body := call(t, "POST", r.url("/api/privacy/erase/"), "", map[string]string{"user_id": "erase-me"}, &erased); code != http.StatusOK ||
		erased.Events != 3 || erased.Messages != 4 || erased.Already || erased.UserHash != store.UserHash("erase-me") {
		t.Fatalf("erase: %d %s", code, body)
	}
	if got := storedCount(t, r); got != 2 {
		t.Fatalf("stored %d events after the erasure, want keep-me's 2", got)
	}

	// A replay of the dead letter made before the erasure, and a
	// redelivery of the erased events: dead-lettered, never stored.
	if code, body := call(t, "POST", r.url("/api/dlq/replay/"), "", map[string]any{"all": true}, nil); code != http.StatusOK {
		t.Fatalf("replay: %d %s", code, body)
	}
	produce(t, r, gone)
	dlqTotal(5)
	var list deadletter.View
	getJSON(t, r.url("/api/dlq/?limit=100"), &list)
	suppressed := 0
	for _, g := range list.Groups {
		if strings.Contains(g.Kind, "erased") {
			suppressed += g.Count
		}
	}
	if suppressed != 4 {
		t.Errorf("dead letters for the erasure: %d, want the replay and 3 redeliveries: %+v", suppressed, list.Groups)
	}
	waitSettled(t, r, 2)
	var found struct {
		Events []event.Stored `json:"events"`
	}
	getJSON(t, r.url("/api/events/?user_id=erase-me"), &found)
	var msgs struct {
		Messages []event.Message `json:"messages"`
	}
	getJSON(t, r.url("/api/queue/messages/?limit=1000"), &msgs)
	for _, m := range msgs.Messages {
		if m.UserID == "erase-me" {
			t.Errorf("the processing log shows the erased user: %+v", m)
		}
	}
	if len(found.Events) != 0 {
		t.Errorf("the explorer finds %d events of the erased user", len(found.Events))
	}
	if code, body := call(t, "GET", r.url("/api/users/erase-me/"), "", nil, nil); code != http.StatusNotFound {
		t.Errorf("the erased user's page: %d %s", code, body)
	}

	// Erasing again deletes nothing more; the list holds the user once,
	// by hash.
	if code, body := call(t, "POST", r.url("/api/privacy/erase/"), "", map[string]string{"user_id": "erase-me"}, &erased); code != http.StatusOK ||
		!erased.Already || erased.Events != 0 || erased.Messages != 0 {
		t.Fatalf("erase again: %d %s", code, body)
	}
	_, body := call(t, "GET", r.url("/api/privacy/erased/"), "", nil, nil)
	var page struct {
		Erased []store.Suppression `json:"erased"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Erased) != 1 || page.Erased[0].UserHash != store.UserHash("erase-me") ||
		page.Erased[0].Events != 3 {
		t.Errorf("erased list: %s", body)
	}
	_, audit := call(t, "GET", r.url("/api/audit/?action=POST+%2Fapi%2Fprivacy%2Ferase%2F"), "", nil, nil)
	if !strings.Contains(audit, `"target":"user `+store.UserHash("erase-me")+`"`) || !strings.Contains(audit, "3 events, 4 processing-log rows deleted") {
		t.Errorf("audit log: %s", audit)
	}
	_, all := call(t, "GET", r.url("/api/audit/export/?format=ndjson"), "", nil, nil)
	if strings.Contains(all+body, "erase-me") {
		t.Errorf("the audit log or the erased list names the user: %s %s", all, body)
	}

	// Bad requests name the problem.
	for _, in := range []string{`{}`, `{"user_id":""}`, `{"user_id":"` + strings.Repeat("x", event.MaxIDLen+1) + `"}`, `{"user":"x"}`} {
		if code, body := call(t, "POST", r.url("/api/privacy/erase/"), "", json.RawMessage(in), nil); code != http.StatusBadRequest || !strings.Contains(body, "user") {
			t.Errorf("erase %s: %d %s", in, code, body)
		}
	}
}
