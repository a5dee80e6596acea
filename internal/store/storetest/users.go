package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// testUserProfileAgreesWithABruteForce stores the events of several users
// (shuffled, so out of time order, on three partitions, some redelivered,
// some without a session, late events that move a first seen back, some
// older than the days a profile counts or ahead of the clock, one user
// with more events than the sessions are built from) and compares each
// user's profile with a brute force over the stored rows; then retention
// deletes the oldest rows, one user's all of them, and the profiles are
// compared again.
func testUserProfileAgreesWithABruteForce(t *testing.T, s ExplorerStore) {
	rng := rand.New(rand.NewPCG(18, 2026))
	now := time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)
	pages := []string{"/", "/home", "/products/1", "/products/2", "/products/3", "/cart", "/checkout",
		"/pricing", "/docs", "/blog", "/about", "/signup", "/login", "/account"}
	types := []string{event.TypePageView, event.TypeButtonClick, "add_to_cart", "purchase"}

	var all []store.Record // every event written, redeliveries once
	n := 0
	newRecord := func(user, session string, ts time.Time) store.Record {
		n++
		id := fmt.Sprintf("up-%05d", n)
		typ := types[rng.IntN(len(types))]
		e := &event.Event{EventID: id, UserID: user, EventType: typ, SessionID: session,
			Timestamp: ts.Truncate(time.Microsecond)}
		if rng.IntN(6) > 0 {
			e.Page = pages[rng.IntN(len(pages))]
		}
		r := store.Record{Event: e, Message: event.Message{EventID: id, UserID: user, EventType: typ,
			Status: event.StatusCompleted, Source: event.SourceAPI, Partition: int32(rng.IntN(3)), QueuedAt: ts}}
		all = append(all, r)
		return r
	}
	// visits returns a user's sessions of a few events each, a few
	// minutes apart, starting in [from, from+span); some events carry no
	// session (a server-side event).
	visits := func(user string, events int, from time.Time, span time.Duration) []store.Record {
		var out []store.Record
		for v := 0; len(out) < events; v++ {
			start := from.Add(time.Duration(rng.Int64N(int64(span))))
			session := fmt.Sprintf("%s-s%03d", user, v)
			for k := range 1 + rng.IntN(14) {
				sid := session
				if rng.IntN(7) == 0 {
					sid = ""
				}
				out = append(out, newRecord(user, sid, start.Add(time.Duration(k)*time.Duration(1+rng.IntN(90))*time.Second)))
				if len(out) == events {
					break
				}
			}
		}
		return out
	}
	day := 24 * time.Hour

	// "gone" came first and is all deleted by retention below.
	write(t, s, visits("gone", 30, now.Add(-200*day), 10*day)...)
	// heavy's latest event by time is among its oldest by id, so not
	// among the events the sessions are built from: its last seen is the
	// start of its last active day, from the activity.
	write(t, s, newRecord("heavy", "", now.Add(-time.Hour)))
	var batch []store.Record
	// More events than the sessions are built from, over 100 days.
	batch = append(batch, visits("heavy", store.UserSessionEvents+149, now.Add(-100*day), 97*day)...)
	for u := range 4 {
		batch = append(batch, visits(fmt.Sprintf("u%d", u), 20+rng.IntN(60), now.Add(-120*day), 120*day)...)
	}
	// Events older than the days a profile counts, and recent ones.
	batch = append(batch, visits("veteran", 25, now.Add(-(store.UserDays+60)*day), 30*day)...)
	batch = append(batch, visits("veteran", 10, now.Add(-20*day), 20*day)...)
	// Only events older than the counted days.
	batch = append(batch, visits("old", 12, now.Add(-(store.UserDays+10)*day), 5*day)...)
	// Ahead of the clock: within tomorrow (counted), and days ahead
	// (not counted, but seen), besides events of the last week.
	batch = append(batch, visits("skew", 15, now.Add(-7*day), 7*day)...)
	batch = append(batch, newRecord("skew", "skew-ahead", now.Add(9*time.Hour)))
	batch = append(batch, newRecord("skew", "skew-ahead", now.Add(3*day)))
	// Without any session.
	for range 8 {
		batch = append(batch, newRecord("nosession", "", now.Add(-time.Duration(rng.Int64N(int64(30*day))))))
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	for i := 0; i < len(batch); i += 250 {
		write(t, s, batch[i:min(i+250, len(batch))]...)
	}
	// Redelivered: stored and counted once.
	redelivered := slices.Clone(batch[:300])
	rng.Shuffle(len(redelivered), func(i, j int) { redelivered[i], redelivered[j] = redelivered[j], redelivered[i] })
	write(t, s, redelivered...)
	// Late events: u1 and u2 turn out to have come earlier.
	write(t, s, newRecord("u1", "u1-late", now.Add(-150*day)), newRecord("u2", "", now.Add(-130*day)))

	users := []string{"gone", "heavy", "u0", "u1", "u2", "u3", "veteran", "old", "skew", "nosession"}
	check := func(step string) {
		t.Helper()
		rows := stored(t, s)
		for _, u := range users {
			got, err := s.UserProfile(t.Context(), u, now)
			if err != nil {
				t.Fatalf("%s: UserProfile(%s): %v", step, u, err)
			}
			want := bruteUserProfile(u, now, all, rows)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(want, "", " ")
				t.Fatalf("%s: UserProfile(%s) =\n%s\nthe events say\n%s", step, u, g, w)
			}
		}
		if _, err := s.UserProfile(t.Context(), "nobody", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: UserProfile(nobody): %v, want store.ErrNotFound", step, err)
		}
	}
	check("written")

	// Sanity of the data, so that the comparison means something.
	heavy, err := s.UserProfile(t.Context(), "heavy", now)
	if err != nil {
		t.Fatal(err)
	}
	if heavy.SessionsFromEvents != store.UserSessionEvents || len(heavy.Sessions) != store.UserSessions ||
		heavy.Events != store.UserSessionEvents+150 {
		t.Fatalf("heavy: %d events, %d sessions from %d events; the data should exceed the bounds",
			heavy.Events, len(heavy.Sessions), heavy.SessionsFromEvents)
	}
	long := false
	for _, ss := range heavy.Sessions {
		long = long || len(ss.Pages) == store.UserSessionPages
	}
	if !long {
		t.Fatalf("heavy: no session with %d pages; the data should have some", store.UserSessionPages)
	}

	if heavy.LastSeen == nil || !heavy.LastSeen.Equal(now.Truncate(day)) || !heavy.LastSeenDay {
		t.Fatalf("heavy: last seen %v (day only: %v); want the start of today, its last active day, as a day",
			heavy.LastSeen, heavy.LastSeenDay)
	}

	// The oldest 30 rows are gone's (heavy's early event is next).
	if _, err := s.Retain(t.Context(), store.Retention{MaxRows: int64(len(stored(t, s)) - 30)}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	check("retained")
	gone, err := s.UserProfile(t.Context(), "gone", now)
	if err != nil || gone.Events != 0 || gone.LastSeen != nil || len(gone.Sessions) != 0 || gone.FirstSeen.IsZero() {
		t.Fatalf("gone after retention: %+v, %v; want a first seen and nothing else", gone, err)
	}
}

// stored returns every stored event.
func stored(t *testing.T, s ExplorerStore) []event.Stored {
	t.Helper()
	var out []event.Stored
	if err := s.ExportEvents(t.Context(), store.EventQuery{}, func(e event.Stored) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("ExportEvents: %v", err)
	}
	return out
}

// bruteUserProfile computes a profile from every event written (for the
// first seen) and the rows stored, apart from the store's helpers.
func bruteUserProfile(user string, now time.Time, all []store.Record, stored []event.Stored) store.UserProfile {
	dayOf := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	today := dayOf(now)
	var first time.Time
	for _, r := range all {
		if r.Event.UserID == user && (first.IsZero() || r.Event.Timestamp.Before(first)) {
			first = r.Event.Timestamp
		}
	}
	from := dayOf(first)
	if oldest := today.AddDate(0, 0, -(store.UserDays - 1)); from.Before(oldest) {
		from = oldest
	}
	to := today.AddDate(0, 0, 2) // exclusive: tomorrow counts
	p := store.UserProfile{UserID: user, FirstSeen: first, CountedFrom: from.Format("2006-01-02"),
		EventTypes: map[string]int64{}, Sessions: []store.UserSession{}}
	for d := today.AddDate(0, 0, -(store.UserChartDays - 1)); !d.After(today); d = d.AddDate(0, 0, 1) {
		p.Days = append(p.Days, store.UserDay{Day: d.Format("2006-01-02")})
	}
	var mine []event.Stored
	var lastDay time.Time
	for _, e := range stored {
		if e.UserID != user {
			continue
		}
		mine = append(mine, e)
		d := dayOf(e.Timestamp)
		if d.Before(from) || !d.Before(to) {
			continue
		}
		p.Events++
		p.EventTypes[e.EventType]++
		for i := range p.Days {
			if p.Days[i].Day == d.Format("2006-01-02") {
				p.Days[i].Events++
			}
		}
		if d.After(lastDay) {
			lastDay = d
		}
	}
	// The latest events by id.
	sort.Slice(mine, func(i, j int) bool { return mine[i].ID > mine[j].ID })
	mine = mine[:min(len(mine), store.UserSessionEvents)]
	p.SessionsFromEvents = len(mine)
	// The latest time known: an event's, or else the last active day's
	// start, when no event read is as late.
	last := lastDay
	p.LastSeenDay = !lastDay.IsZero()
	for _, e := range mine {
		if !e.Timestamp.Before(last) {
			last = e.Timestamp.UTC()
			p.LastSeenDay = false
		}
	}
	if !last.IsZero() {
		p.LastSeen = &last
	}
	bySession := map[string][]event.Stored{}
	for _, e := range mine {
		if e.SessionID != "" {
			bySession[e.SessionID] = append(bySession[e.SessionID], e)
		}
	}
	for id, evs := range bySession {
		sort.Slice(evs, func(i, j int) bool {
			if !evs[i].Timestamp.Equal(evs[j].Timestamp) {
				return evs[i].Timestamp.Before(evs[j].Timestamp)
			}
			return evs[i].ID < evs[j].ID
		})
		ss := store.UserSession{SessionID: id, Start: evs[0].Timestamp.UTC(), End: evs[len(evs)-1].Timestamp.UTC(),
			Events: len(evs), Pages: []string{}}
		seen := map[string]bool{}
		for _, e := range evs {
			if e.Page == "" {
				continue
			}
			if ss.FirstPage == "" {
				ss.FirstPage = e.Page
			}
			if !seen[e.Page] && len(ss.Pages) < store.UserSessionPages {
				ss.Pages = append(ss.Pages, e.Page)
			}
			seen[e.Page] = true
		}
		p.Sessions = append(p.Sessions, ss)
	}
	sort.Slice(p.Sessions, func(i, j int) bool {
		a, b := p.Sessions[i], p.Sessions[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.After(b.Start)
		}
		return a.SessionID < b.SessionID
	})
	p.Sessions = p.Sessions[:min(len(p.Sessions), store.UserSessions)]
	return p
}
