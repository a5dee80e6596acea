package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// A user's page over the API: the id path-escaped (a slash in it), the
// exact shape, first and last seen from events stored out of time order,
// the sessions grouped and newest first; an unknown user a 404, an id
// over 128 bytes a 400.
func TestUserProfileOverTheAPI(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "pulse.db"), sqlite.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	srv := httptest.NewServer(New(Config{Loopback: true}, Deps{Users: db}, nil, nil).Handler())
	t.Cleanup(srv.Close)

	user := "team/ana é"
	now := time.Now().UTC().Truncate(time.Microsecond)
	evs := []struct {
		session, page, typ string
		ago                time.Duration
	}{
		// Stored out of time order; s2 is the newer session.
		{"s2", "/cart", "add_to_cart", 10 * time.Minute},
		{"s1", "/home", event.TypePageView, 50 * time.Hour},
		{"s2", "/home", event.TypePageView, 30 * time.Minute},
		{"", "", "signup", 5 * time.Minute},
		{"s1", "/pricing", event.TypePageView, 49 * time.Hour},
		{"s1", "/home", event.TypeButtonClick, 48 * time.Hour},
		{"s2", "", event.TypeButtonClick, 20 * time.Minute},
	}
	var batch []store.Record
	for i, e := range evs {
		id := fmt.Sprintf("up-%d", i)
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: user, EventType: e.typ, SessionID: e.session, Page: e.page,
				Timestamp: now.Add(-e.ago)},
			Message: event.Message{EventID: id, EventType: e.typ, Status: event.StatusCompleted, Source: event.SourceAPI},
		})
	}
	// Another user's events are not this one's.
	batch = append(batch, store.Record{
		Event:   &event.Event{EventID: "other", UserID: "team", EventType: "signup", SessionID: "s1", Timestamp: now},
		Message: event.Message{EventID: "other", EventType: "signup", Status: event.StatusCompleted, Source: event.SourceAPI},
	})
	if _, err := db.Write(t.Context(), batch); err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{"/api/users/" + url.PathEscape(user) + "/", "/api/users/" + url.PathEscape(user)} {
		code, raw := send(t, "GET", srv.URL+path, "", "", "")
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, raw)
		}
		var shape map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &shape); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(shape))
		for k := range shape {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"counted_from", "days", "event_types", "events", "first_seen", "last_seen", "last_seen_day", "sessions",
			"sessions_from_events", "user_id"}; !slices.Equal(keys, want) {
			t.Fatalf("members %v, want %v", keys, want)
		}
		var p store.UserProfile
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatal(err)
		}
		at := func(ago time.Duration) time.Time { return now.Add(-ago) }
		if p.UserID != user || !p.FirstSeen.Equal(at(50*time.Hour)) || p.LastSeen == nil || !p.LastSeen.Equal(at(5*time.Minute)) || p.LastSeenDay {
			t.Fatalf("user %q, first seen %v, last seen %v; want %q, %v, %v", p.UserID, p.FirstSeen, p.LastSeen,
				user, at(50*time.Hour), at(5*time.Minute))
		}
		if p.Events != 7 || fmt.Sprint(p.EventTypes) != "map[add_to_cart:1 button_click:2 page_view:3 signup:1]" ||
			p.SessionsFromEvents != 7 || p.CountedFrom != at(50*time.Hour).Format(time.DateOnly) {
			t.Fatalf("counts: %s", raw)
		}
		var days int64
		for _, d := range p.Days {
			days += d.Events
		}
		// The server's today is the day of its clock during the request:
		// now's, or the next one's when the request crossed midnight.
		if len(p.Days) != store.UserChartDays || days != 7 {
			t.Fatalf("days: %+v", p.Days)
		}
		if today := p.Days[len(p.Days)-1].Day; today != now.Format(time.DateOnly) && today != time.Now().UTC().Format(time.DateOnly) {
			t.Fatalf("days: %+v", p.Days)
		}
		want := []store.UserSession{
			{SessionID: "s2", Start: at(30 * time.Minute), End: at(10 * time.Minute), Events: 3,
				Pages: []string{"/home", "/cart"}, FirstPage: "/home"},
			{SessionID: "s1", Start: at(50 * time.Hour), End: at(48 * time.Hour), Events: 3,
				Pages: []string{"/home", "/pricing"}, FirstPage: "/home"},
		}
		if fmt.Sprint(p.Sessions) != fmt.Sprint(want) {
			t.Fatalf("sessions\n%+v\nwant\n%+v", p.Sessions, want)
		}
	}

	for path, want := range map[string]struct {
		code int
		text string
	}{
		"/api/users/nobody/":                                {http.StatusNotFound, `no events for user \"nobody\"`},
		"/api/users/" + strings.Repeat("u", 128) + "/":      {http.StatusNotFound, "no events for user"},
		"/api/users/" + strings.Repeat("u", 129) + "/":      {http.StatusBadRequest, "user_id: longer than 128 bytes"},
		"/api/users/" + url.PathEscape(user) + "/?range=7d": {http.StatusBadRequest, "takes no parameters"},
	} {
		code, raw := send(t, "GET", srv.URL+path, "", "", "")
		if code != want.code || !strings.Contains(raw, want.text) {
			t.Errorf("GET %s: %d %s; want %d with %q", path, code, raw, want.code, want.text)
		}
	}
}
