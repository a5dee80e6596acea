package storetest

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// uniqueKey is a bucket and type of the sketches.
type uniqueKey struct {
	bucket    int64
	eventType string
}

// sketchCounts merges the sketches of q per bucket and type (over the
// partitions) and answers their estimates of users and sessions.
func sketchCounts(t *testing.T, s store.Store, q store.UniqueQuery) (users, sessions map[uniqueKey]uint64) {
	t.Helper()
	merged := map[uniqueKey]*store.Sketches{}
	err := s.UniqueSketches(t.Context(), q, func(r store.UniqueRow) error {
		k := uniqueKey{r.Bucket, r.EventType}
		m := merged[k]
		if m == nil {
			m = &store.Sketches{Users: store.NewSketch(), Sessions: store.NewSketch()}
			merged[k] = m
		}
		for _, x := range []struct {
			blob []byte
			into *store.Sketches
			who  string
		}{{r.Users, m, "users"}, {r.Sessions, m, "sessions"}} {
			sk, err := store.DecodeSketch(x.blob)
			if err != nil {
				return fmt.Errorf("%s of %v: %w", x.who, k, err)
			}
			into := x.into.Users
			if x.who == "sessions" {
				into = x.into.Sessions
			}
			if err := into.Merge(sk); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("UniqueSketches(%+v): %v", q, err)
	}
	users, sessions = map[uniqueKey]uint64{}, map[uniqueKey]uint64{}
	for k, m := range merged {
		users[k], sessions[k] = m.Users.Estimate(), m.Sessions.Estimate()
	}
	return users, sessions
}

// bruteUniques counts the distinct users and non-empty sessions of the
// stored events as UniqueSketches would answer q.
func bruteUniques(t *testing.T, s store.Store, q store.UniqueQuery) (users, sessions map[uniqueKey]uint64) {
	t.Helper()
	evs, err := s.LatestEvents(t.Context(), store.MaxLimit)
	if err != nil {
		t.Fatalf("LatestEvents: %v", err)
	}
	u, ss := map[uniqueKey]map[string]bool{}, map[uniqueKey]map[string]bool{}
	for _, e := range evs {
		sec := e.Timestamp.Unix()
		k := uniqueKey{sec - sec%q.Width, e.EventType}
		if k.bucket < q.From.Unix() || k.bucket >= q.To.Unix() || (len(q.Types) > 0 && !slices.Contains(q.Types, e.EventType)) {
			continue
		}
		if u[k] == nil {
			u[k], ss[k] = map[string]bool{}, map[string]bool{}
		}
		u[k][e.UserID] = true
		if e.SessionID != "" {
			ss[k][e.SessionID] = true
		}
	}
	users, sessions = map[uniqueKey]uint64{}, map[uniqueKey]uint64{}
	for k := range u {
		users[k], sessions[k] = uint64(len(u[k])), uint64(len(ss[k]))
	}
	return users, sessions
}

// The sketches of users and sessions agree with the rows (exactly, at
// these sizes) per hour and day and type, after writes over three days in
// no order and from three partitions, redeliveries, an event_id reused for
// another user (not stored, so not counted), and retention: the hours and
// days it empties lose their sketches, the others keep theirs.
func testUniquesFollowTheRows(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(5, 8))
	start := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	types := []string{event.TypePageView, "signup"}
	record := func(i int, day int) store.Record {
		typ := types[rng.IntN(len(types))]
		r := completed(fmt.Sprintf("uniq-%03d", i), typ, "", event.SourceAPI)
		u := rng.IntN(30)
		r.Event.UserID = fmt.Sprintf("user-%02d", u)
		r.Message.UserID = r.Event.UserID
		if rng.IntN(4) > 0 {
			r.Event.SessionID = fmt.Sprintf("s-%02d-%d", u, rng.IntN(3))
		}
		r.Event.Timestamp = start.Add(time.Duration(day)*24*time.Hour + time.Duration(rng.Int64N(int64(6*time.Hour))))
		r.Message.Partition = int32(rng.IntN(3))
		return r
	}
	// The first day's events are stored first, so retention takes them.
	var first, rest []store.Record
	for i := range 100 {
		first = append(first, record(i, 0))
	}
	for i := 100; i < 400; i++ {
		rest = append(rest, record(i, 1+rng.IntN(2)))
	}
	write(t, s, first...)
	for i := 0; i < len(rest); i += 60 {
		write(t, s, rest[i:min(i+60, len(rest))]...)
	}
	write(t, s, rest[10:50]...) // redelivered: counted once
	reused := completed("uniq-200", event.TypePageView, "", event.SourceAPI)
	reused.Event.UserID, reused.Event.Timestamp = "user-stranger", rest[100].Event.Timestamp
	if out, err := s.Write(t.Context(), []store.Record{reused}); err != nil || out[0].New || out[0].Conflict == "" {
		t.Fatalf("an event_id reused for another event: %+v, %v; want a conflict", out, err)
	}

	check := func(step string) {
		t.Helper()
		for _, w := range store.UniqueWidths {
			for _, q := range []store.UniqueQuery{
				{Width: w, From: start.Add(-24 * time.Hour), To: start.Add(5 * 24 * time.Hour)},
				{Width: w, From: start.Add(24 * time.Hour), To: start.Add(49 * time.Hour), Types: []string{"signup"}},
			} {
				gotU, gotS := sketchCounts(t, s, q)
				wantU, wantS := bruteUniques(t, s, q)
				if !reflect.DeepEqual(gotU, wantU) {
					t.Fatalf("%s: users of %+v =\n%v\nthe rows say\n%v", step, q, gotU, wantU)
				}
				if !reflect.DeepEqual(gotS, wantS) {
					t.Fatalf("%s: sessions of %+v =\n%v\nthe rows say\n%v", step, q, gotS, wantS)
				}
			}
		}
	}
	check("written")
	if _, err := s.Retain(t.Context(), store.Retention{MaxRows: int64(len(rest))}); err != nil {
		t.Fatalf("Retain: %v", err)
	}
	check("retained")
}
