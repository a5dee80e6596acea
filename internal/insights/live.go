package insights

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/axiomhq/hyperloglog"
	"golang.org/x/sync/errgroup"

	"github.com/pulse-dev/pulse/internal/store"
)

// The live panel's spans: the minutes of the chart, and the recent ones
// the headline figures and the top lists count.
const (
	LiveMinutes = 30
	LiveRecent  = 5
	LiveTop     = 10
)

// LiveMinute is one minute of the live chart.
type LiveMinute struct {
	Start  time.Time `json:"start"`
	Events int64     `json:"events"`
	Users  int64     `json:"users"`
}

// LiveCount is a page or an element and its events.
type LiveCount struct {
	Key    string `json:"key"`
	Events int64  `json:"events"`
}

// Live is who is on the site now: users, sessions and events in the last
// 5 and 30 minutes (the minute holding now and those before it), the 30
// minutes, and the top pages and elements of the last 5.
type Live struct {
	Now         time.Time    `json:"now"`
	Users5m     int64        `json:"users_5m"`
	Users30m    int64        `json:"users_30m"`
	Sessions5m  int64        `json:"sessions_5m"`
	Sessions30m int64        `json:"sessions_30m"`
	Events5m    int64        `json:"events_5m"`
	Events30m   int64        `json:"events_30m"`
	Minutes     []LiveMinute `json:"minutes"`
	TopPages    []LiveCount  `json:"top_pages"`
	TopElements []LiveCount  `json:"top_elements"`
}

// Live answers the live panel at now from the minute rollups and sketches:
// rows per minute and type of the last 30 minutes, never the events.
func (s *Service) Live(ctx context.Context, now time.Time) (Live, error) {
	cur := now.UTC().Truncate(time.Minute)
	from, end := cur.Add(-(LiveMinutes-1)*time.Minute), cur.Add(time.Minute)
	recent := cur.Add(-(LiveRecent - 1) * time.Minute)
	out := Live{Now: now.UTC(), Minutes: make([]LiveMinute, LiveMinutes), TopPages: []LiveCount{}, TopElements: []LiveCount{}}
	for i := range out.Minutes {
		out.Minutes[i].Start = from.Add(time.Duration(i) * time.Minute)
	}
	index := func(bucket int64) (int, bool) {
		i := int((bucket - from.Unix()) / 60)
		return i, i >= 0 && i < LiveMinutes
	}

	users := make([]*hyperloglog.Sketch, LiveMinutes)
	users30, users5, sessions30, sessions5 := store.NewSketch(), store.NewSketch(), store.NewSketch(), store.NewSketch()
	// The types with events in the 30 minutes: the rollups are read for
	// those only, each a range of their key.
	var types []string
	err := s.store.UniqueSketches(ctx, store.UniqueQuery{Width: store.UniqueMinute, From: from, To: end}, func(r store.UniqueRow) error {
		i, ok := index(r.Bucket)
		if !ok {
			return nil
		}
		if !slices.Contains(types, r.EventType) {
			types = append(types, r.EventType)
		}
		u, err := store.DecodeSketch(r.Users)
		if err != nil {
			return err
		}
		ss, err := store.DecodeSketch(r.Sessions)
		if err != nil {
			return err
		}
		if users[i] == nil {
			users[i] = store.NewSketch()
		}
		into := []*hyperloglog.Sketch{users[i], users30}
		if r.Bucket >= recent.Unix() {
			into = append(into, users5)
			if err := sessions5.Merge(ss); err != nil {
				return err
			}
		}
		for _, sk := range into {
			if err := sk.Merge(u); err != nil {
				return err
			}
		}
		return sessions30.Merge(ss)
	})
	if err != nil {
		return Live{}, fmt.Errorf("read the sketches: %w", err)
	}
	out.Users5m, out.Users30m = int64(users5.Estimate()), int64(users30.Estimate())
	out.Sessions5m, out.Sessions30m = int64(sessions5.Estimate()), int64(sessions30.Estimate())
	for i, sk := range users {
		if sk != nil {
			out.Minutes[i].Users = int64(sk.Estimate())
		}
	}

	if len(types) == 0 {
		return out, nil
	}
	// The three reads at once: on PostgreSQL each is a round trip.
	var all, pages, elements []store.RollupCount
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range []struct {
		dim  string
		from time.Time
		into *[]store.RollupCount
	}{{store.DimAll, from, &all}, {store.DimPage, recent, &pages}, {store.DimElement, recent, &elements}} {
		g.Go(func() error {
			rows, err := s.store.RollupCounts(gctx, store.RollupQuery{Width: store.RollupMinute, Dim: r.dim, From: r.from, To: end, Types: types})
			*r.into = rows
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Live{}, fmt.Errorf("read the rollups: %w", err)
	}
	for _, r := range all {
		if i, ok := index(r.Bucket); ok {
			out.Minutes[i].Events += r.Events
			out.Events30m += r.Events
			if r.Bucket >= recent.Unix() {
				out.Events5m += r.Events
			}
		}
	}
	out.TopPages, out.TopElements = topCounts(pages), topCounts(elements)
	return out, nil
}

// topCounts sums rows by value and keeps the LiveTop largest (an event
// without the value is not counted), the largest first, ties by value.
func topCounts(rows []store.RollupCount) []LiveCount {
	sums := map[string]int64{}
	for _, r := range rows {
		if r.Value != "" {
			sums[r.Value] += r.Events
		}
	}
	out := make([]LiveCount, 0, len(sums))
	for k, n := range sums {
		out = append(out, LiveCount{k, n})
	}
	slices.SortFunc(out, func(a, b LiveCount) int { return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Key, b.Key)) })
	if len(out) > LiveTop {
		out = out[:LiveTop]
	}
	return out
}
