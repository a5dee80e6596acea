package insights

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/store"
)

// The live panel agrees with a brute force over the stored events: events
// of the last 40 minutes, older ones, a few in the future (a client's
// clock ahead), in no order, some redelivered; users, sessions and events
// of the 5 and 30 minutes ending with the minute of now, each minute's
// events and users, the top pages and elements of the last 5 minutes.
func TestLiveAgreesWithABruteForce(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) { checkLive(t, kind) })
	}
}

func checkLive(t *testing.T, kind string) {
	db := openKind(t, kind)
	rng := rand.New(rand.NewPCG(4, 2))
	now := time.Date(2026, 12, 4, 10, 17, 42, 0, time.UTC)
	type ev struct {
		ts                     time.Time
		user, sess, page, elem string
	}
	var evs []ev
	var batch []store.Record
	for i := range 1500 {
		e := ev{
			ts:   now.Add(-time.Duration(rng.Int64N(int64(40 * time.Minute)))),
			user: fmt.Sprintf("u%02d", rng.IntN(60)),
			page: []string{"/", "/pricing", "/cart", "", "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h"}[rng.IntN(12)],
			elem: fmt.Sprintf("el-%d", rng.IntN(14)),
		}
		switch i % 10 {
		case 0:
			e.ts = now.Add(-time.Duration(rng.Int64N(int64(48 * time.Hour))))
		case 1:
			e.ts = now.Add(time.Duration(1+rng.Int64N(int64(10*time.Minute))) + time.Minute)
		}
		if rng.IntN(5) > 0 {
			e.sess = e.user + fmt.Sprint("-s", rng.IntN(2))
		}
		evs = append(evs, e)
		id := fmt.Sprintf("live-%04d", i)
		typ := []string{event.TypePageView, event.TypeButtonClick, "signup"}[rng.IntN(3)]
		batch = append(batch, store.Record{
			Event: &event.Event{EventID: id, UserID: e.user, SessionID: e.sess, EventType: typ, Page: e.page, ElementID: e.elem, Timestamp: e.ts},
			Message: event.Message{EventID: id, EventType: typ, Status: event.StatusCompleted, Source: event.SourceAPI,
				Partition: int32(rng.IntN(3)), QueuedAt: e.ts},
		})
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	for i := 0; i < len(batch); i += 300 {
		if _, err := db.Write(t.Context(), batch[i:i+300]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Write(t.Context(), batch[:200]); err != nil { // redelivered: counted once
		t.Fatal(err)
	}

	got, err := New(db).Live(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	cur := now.Truncate(time.Minute)
	from5, from30, end := cur.Add(-4*time.Minute), cur.Add(-29*time.Minute), cur.Add(time.Minute)
	want := Live{Now: now, Minutes: make([]LiveMinute, 30)}
	u5, u30, s5, s30 := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	perMinute := make([]map[string]bool, 30)
	pages, elems := map[string]int64{}, map[string]int64{}
	for i := range want.Minutes {
		want.Minutes[i].Start = from30.Add(time.Duration(i) * time.Minute)
		perMinute[i] = map[string]bool{}
	}
	for _, e := range evs {
		if e.ts.Before(from30) || !e.ts.Before(end) {
			continue
		}
		i := int(e.ts.Sub(from30) / time.Minute)
		want.Minutes[i].Events++
		perMinute[i][e.user] = true
		want.Events30m++
		u30[e.user] = true
		if e.sess != "" {
			s30[e.sess] = true
		}
		if !e.ts.Before(from5) {
			want.Events5m++
			u5[e.user] = true
			if e.sess != "" {
				s5[e.sess] = true
			}
			if e.page != "" {
				pages[e.page]++
			}
			elems[e.elem]++
		}
	}
	for i, m := range perMinute {
		want.Minutes[i].Users = int64(len(m))
	}
	want.Users5m, want.Users30m, want.Sessions5m, want.Sessions30m = int64(len(u5)), int64(len(u30)), int64(len(s5)), int64(len(s30))
	top := func(m map[string]int64) []LiveCount {
		var out []LiveCount
		for k, n := range m {
			out = append(out, LiveCount{k, n})
		}
		slices.SortFunc(out, func(a, b LiveCount) int {
			if a.Events != b.Events {
				return int(b.Events - a.Events)
			}
			if a.Key < b.Key {
				return -1
			}
			return 1
		})
		return out[:min(10, len(out))]
	}
	want.TopPages, want.TopElements = top(pages), top(elems)
	if want.Events5m == 0 || want.Users5m == 0 || len(want.TopPages) != 10 {
		t.Fatalf("the brute force found too little to check: %+v", want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("live =\n%+v\nthe brute force says\n%+v", got, want)
	}
}

// With nothing stored, the panel answers zeros and empty lists, not null.
func TestLiveOfAnEmptyStore(t *testing.T) {
	got, err := New(openKind(t, "SQLite")).Live(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if got.Users30m != 0 || got.Events30m != 0 || len(got.Minutes) != 30 ||
		!strings.Contains(string(b), `"top_pages":[]`) || !strings.Contains(string(b), `"top_elements":[]`) {
		t.Fatalf("live of an empty store = %s", b)
	}
}
