package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
)

// A user's page is read from what the other insights keep, with no index
// of its own on the events (each costs every insert): the first-seen
// table, the activity rows of the user's days, probed day by day through
// the activity's key (day, user_id, ...), and the user's latest events by
// id through the explorer's user index.
const (
	// UserDays bounds the days of activity a profile reads: the counts
	// cover at most the last UserDays days (today among them), so a
	// profile costs at most that many probes at any age of the user.
	UserDays = 400
	// UserChartDays is the span of a profile's per-day counts.
	UserChartDays = 90
	// UserSessionEvents is how many of the user's latest events (by id,
	// the order they were stored in) the sessions are built from.
	UserSessionEvents = 1000
	// UserSessions bounds the sessions a profile lists, newest first.
	UserSessions = 100
	// UserSessionPages bounds the distinct pages listed per session.
	UserSessionPages = 10
)

// UserProfile is one user's page: when they came, when they were last
// seen, their events by type and day, and their recent sessions.
type UserProfile struct {
	UserID string `json:"user_id"`
	// FirstSeen is the time of the user's earliest event ever stored
	// (the first-seen table: it outlives retention).
	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is the latest event time among the events read for the
	// sessions, and at least the start of the last day with activity;
	// nil when none of the user's events is still stored.
	LastSeen *time.Time `json:"last_seen"`
	// LastSeenDay is set when LastSeen is the start of the last day with
	// activity, later than every event read (the user's latest event by
	// time is not among their latest stored): the day is known, not the
	// time.
	LastSeenDay bool `json:"last_seen_day"`
	// CountedFrom is the first day Events, EventTypes and Days count
	// (the first seen day, or UserDays-1 days before today when the user
	// is older), as YYYY-MM-DD.
	CountedFrom string `json:"counted_from"`
	// Events and EventTypes count the user's stored events from
	// CountedFrom to tomorrow (UTC; a day ahead for clocks ahead).
	Events     int64            `json:"events"`
	EventTypes map[string]int64 `json:"event_types"`
	// Days holds the last UserChartDays UTC days, oldest first, today
	// last, days without events included with 0.
	Days []UserDay `json:"days"`
	// Sessions are the sessions of the latest SessionsFromEvents events,
	// newest (by start) first, at most UserSessions.
	Sessions           []UserSession `json:"sessions"`
	SessionsFromEvents int           `json:"sessions_from_events"`
}

// UserDay is a user's events on one UTC day.
type UserDay struct {
	Day    string `json:"day"` // YYYY-MM-DD
	Events int64  `json:"events"`
}

// UserSession is one session_id of a user's recent events.
type UserSession struct {
	SessionID string `json:"session_id"`
	// Start and End are the earliest and latest event times of the
	// session's events read.
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Events int       `json:"events"`
	// Pages are the session's distinct non-empty pages in the order of
	// their first event, at most UserSessionPages; FirstPage is the page
	// of its earliest event that has one.
	Pages     []string `json:"pages"`
	FirstPage string   `json:"first_page"`
}

// Users reads users' pages.
type Users interface {
	// UserProfile returns the profile of userID as of now; ErrNotFound
	// when no event of the user was ever stored.
	UserProfile(ctx context.Context, userID string, now time.Time) (UserProfile, error)
}

// UserActivity is what a store reads of one user's activity tables.
type UserActivity struct {
	// FirstSeen is the least of the user's first-seen rows; zero when
	// there is none (an unknown user).
	FirstSeen time.Time
	// Rows are the user's activity rows of the days UserDaySpan gives,
	// summed over partitions, in any order.
	Rows []UserActivityRow
}

// UserActivityRow is a user's events of one type on one day.
type UserActivityRow struct {
	Day       int64
	EventType string
	Events    int64
}

// UserDaySpan returns the days a profile of a user first seen at first
// reads, from <= day <= to: from the first seen day, at most UserDays
// days back from today, to tomorrow. from > to when first is after
// tomorrow.
func UserDaySpan(first, now time.Time) (from, to int64) {
	today := Day(now)
	return max(Day(first), today-UserDays+1), today + 1
}

// ReadUserProfile builds the profile of userID from the store's activity
// (read by activity, which probes the days of UserDaySpan) and the user's
// latest UserSessionEvents events, read through s a page at a time.
func ReadUserProfile(ctx context.Context, s Searcher, userID string, now time.Time,
	activity func(ctx context.Context, userID string, now time.Time) (UserActivity, error)) (UserProfile, error) {
	a, err := activity(ctx, userID, now)
	if err != nil {
		return UserProfile{}, fmt.Errorf("user %q: activity: %w", userID, err)
	}
	// The first seen row is written with the user's first event, in its
	// transaction: without one, there are no events to look for.
	if a.FirstSeen.IsZero() {
		return UserProfile{}, ErrNotFound
	}
	var events []event.Stored
	err = ExportAll(ctx, s, EventQuery{UserID: userID, Limit: UserSessionEvents}, func(e event.Stored) error {
		events = append(events, e)
		return nil
	})
	if err != nil {
		return UserProfile{}, fmt.Errorf("user %q: events: %w", userID, err)
	}
	return BuildUserProfile(userID, now, a, events), nil
}

// BuildUserProfile assembles a profile from the user's activity and
// latest events (any order).
func BuildUserProfile(userID string, now time.Time, a UserActivity, events []event.Stored) UserProfile {
	from, _ := UserDaySpan(a.FirstSeen, now)
	p := UserProfile{
		UserID:             userID,
		FirstSeen:          a.FirstSeen.UTC(),
		CountedFrom:        DayStart(from).Format(time.DateOnly),
		EventTypes:         map[string]int64{},
		Days:               make([]UserDay, UserChartDays),
		Sessions:           []UserSession{},
		SessionsFromEvents: len(events),
	}
	today := Day(now)
	chartFrom := today - UserChartDays + 1
	for i := range p.Days {
		p.Days[i].Day = DayStart(chartFrom + int64(i)).Format(time.DateOnly)
	}
	lastDay, active := int64(0), false
	for _, r := range a.Rows {
		if r.Events <= 0 {
			continue
		}
		p.Events += r.Events
		p.EventTypes[r.EventType] += r.Events
		if i := r.Day - chartFrom; i >= 0 && i < UserChartDays {
			p.Days[i].Events += r.Events
		}
		if !active || r.Day > lastDay {
			lastDay, active = r.Day, true
		}
	}
	var last time.Time
	if active {
		last = DayStart(lastDay)
		p.LastSeenDay = true
	}
	for _, e := range events {
		if !e.Timestamp.Before(last) {
			last, p.LastSeenDay = e.Timestamp, false
		}
	}
	if !last.IsZero() {
		last = last.UTC()
		p.LastSeen = &last
	}
	p.Sessions = userSessions(events)
	return p
}

// userSessions groups events by their non-empty session_id.
func userSessions(events []event.Stored) []UserSession {
	// In time order (the arrival order breaking ties), so that a
	// session's pages come in the order they were visited.
	sorted := slices.Clone(events)
	slices.SortFunc(sorted, func(a, b event.Stored) int {
		return cmp.Or(a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.ID, b.ID))
	})
	index := map[string]int{}
	var out []UserSession
	for _, e := range sorted {
		if e.SessionID == "" {
			continue
		}
		i, ok := index[e.SessionID]
		if !ok {
			i = len(out)
			index[e.SessionID] = i
			out = append(out, UserSession{SessionID: e.SessionID, Start: e.Timestamp.UTC(), Pages: []string{}})
		}
		s := &out[i]
		s.End = e.Timestamp.UTC()
		s.Events++
		if e.Page == "" {
			continue
		}
		if s.FirstPage == "" {
			s.FirstPage = e.Page
		}
		if len(s.Pages) < UserSessionPages && !slices.Contains(s.Pages, e.Page) {
			s.Pages = append(s.Pages, e.Page)
		}
	}
	slices.SortFunc(out, func(a, b UserSession) int {
		return cmp.Or(b.Start.Compare(a.Start), cmp.Compare(a.SessionID, b.SessionID))
	})
	if out == nil {
		return []UserSession{}
	}
	return out[:min(len(out), UserSessions)]
}
