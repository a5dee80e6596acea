package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/insights"
	"github.com/pulse-dev/pulse/internal/store"
	"github.com/pulse-dev/pulse/internal/store/postgres"
	"github.com/pulse-dev/pulse/internal/store/sqlite"
)

// InsightsResult is how fast the insights answer over a large store.
type InsightsResult struct {
	Events int             `json:"events"`
	Users  int             `json:"users"`
	Days   int             `json:"days"`
	Stores []InsightsStore `json:"stores"`
	Shape  string          `json:"shape"`
}

// InsightsStore is one store's figures.
type InsightsStore struct {
	Store string `json:"store"`
	// PreloadRate is how fast the events went in (store.Write, with the
	// totals, rollups and activity).
	PreloadRate float64 `json:"preload_records_per_s"`
	// Queries maps a query's name to its latency over the repetitions.
	Queries map[string]Latency `json:"queries"`
	// KeepSeconds is how long keeping the property plan took once the
	// events were stored: the filler's steps over all of them, back to
	// back (the server pauses between steps for the batches).
	KeepSeconds float64 `json:"keep_plan_s"`
	KeepSteps   int     `json:"keep_plan_steps"`
}

// insightQueries are the questions timed, in report order.
var insightQueries = []string{
	"trend 30d by day, breakdown by page, compare",
	"trend 24h by hour",
	"funnel 3 steps over 7d, window 1d",
	"retention 8 weeks by week",
	"retention 30 days by day",
	"trend 7d of users by day",
	"live panel",
	"trend 30d by day, breakdown by properties.plan (kept), compare",
}

// insightGoal is a question's goal for its p95 in milliseconds: the live
// panel's, the trends', or else the funnels' and retention's on the store.
func insightGoal(q, store string) float64 {
	switch {
	case q == "live panel":
		return 10
	case strings.HasPrefix(q, "trend "):
		return 50
	case store == "PostgreSQL":
		return 1000
	}
	return 2000
}

// The journey of the insights scenario: a landing, then with falling
// odds a product page, the cart, a signup (once) and a purchase.
var journeySteps = []struct {
	typ, page string
	p         float64 // odds of going on from the step before
}{
	{event.TypePageView, "/", 1}, {event.TypePageView, "/products/lamp", 0.6},
	{"add_to_cart", "/products/lamp", 0.4}, {"signup", "/signup", 0.5}, {"purchase", "/checkout", 0.5},
}

// insights preloads a store with journeys of many users over many days
// and times the insights over it.
func (r *runner) insights(ctx context.Context) error {
	p := r.plan
	res := &InsightsResult{Events: p.InsightEvents, Users: p.InsightUsers, Days: p.InsightDays}
	dir, err := r.dir("insights")
	if err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "pulse.db"), sqlite.Options{}, r.log)
	if err != nil {
		return err
	}
	s, err := r.insightsOn(ctx, "SQLite", db, nil)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	res.Stores = append(res.Stores, s)
	if r.pg != "" {
		schema, drop, err := r.freshSchema(ctx)
		if err != nil {
			return err
		}
		defer drop()
		pg, err := postgres.Open(ctx, r.pg, postgres.Options{Schema: schema}, r.log)
		if err != nil {
			return err
		}
		// As autovacuum would after such a load: the planner needs the
		// tables' statistics to read a short range of many buckets through
		// the index (a 5-minute read of the rollups took 69 ms without them,
		// 0.3 ms with), and a funnel's scan reads the index alone only on
		// pages the visibility map says are all-visible, which vacuum sets
		// (autovacuum vacuums a table after inserts, too): without it, the
		// 7-day page_view scan was a parallel scan of the table and a sort
		// on disk, 1.15 s, and 0.54 s after.
		vacuum := func() error {
			conn, err := pgx.Connect(ctx, r.pg)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "VACUUM (ANALYZE) "+pgx.Identifier{schema}.Sanitize()+".rollups, "+
				pgx.Identifier{schema}.Sanitize()+".uniques, "+pgx.Identifier{schema}.Sanitize()+".events, "+
				pgx.Identifier{schema}.Sanitize()+".activity, "+pgx.Identifier{schema}.Sanitize()+".active_spans, "+
				pgx.Identifier{schema}.Sanitize()+".first_seen")
			return err
		}
		s, err := r.insightsOn(ctx, "PostgreSQL", pg, vacuum)
		if cerr := pg.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		res.Stores = append(res.Stores, s)
	} else {
		r.note("Insights on PostgreSQL skipped: no PostgreSQL reachable.")
	}
	res.Shape = fmt.Sprintf("%d events of %d users over the last %d days, preloaded in time order (store.Write, batches of 10,000, 3 partitions chosen as the producer does, by the key user_id:event_type): journeys of a landing page_view, then with odds 0.6, 0.4, 0.5, 0.5 a product page_view, add_to_cart, signup (once a user), purchase; a user's visits follow a geometric return; every event carries its user's properties plan and country. Each query %d times through insights.Service (no HTTP), sequential, the store idle (PostgreSQL vacuumed and analyzed after the preload, as autovacuum would)",
		p.InsightEvents, p.InsightUsers, p.InsightDays, p.InsightReps)
	r.rep.Insights = res
	return nil
}

func (r *runner) insightsOn(ctx context.Context, name string, db store.Store, vacuum func() error) (InsightsStore, error) {
	p := r.plan
	out := InsightsStore{Store: name, Queries: map[string]Latency{}}
	now := time.Now().UTC()
	start := time.Now()
	if err := preloadJourneys(ctx, db, p.InsightEvents, p.InsightUsers, p.InsightDays, now); err != nil {
		return out, fmt.Errorf("insights on %s: preload: %w", name, err)
	}
	out.PreloadRate = float64(p.InsightEvents) / time.Since(start).Seconds()
	if vacuum != nil {
		if err := vacuum(); err != nil {
			return out, fmt.Errorf("insights on %s: vacuum: %w", name, err)
		}
	}
	r.progress("insights %s: preloaded %d events at %.0f records/s", name, p.InsightEvents, out.PreloadRate)

	// plan kept once every event is stored: the filler counts them all.
	if _, err := db.AddRollupKey(ctx, "plan"); err != nil {
		return out, fmt.Errorf("insights on %s: keep plan: %w", name, err)
	}
	start = time.Now()
	for {
		more, err := db.FillRollupKeys(ctx, store.FillChunk)
		if err != nil {
			return out, fmt.Errorf("insights on %s: fill plan: %w", name, err)
		}
		if !more {
			break
		}
		out.KeepSteps++
	}
	out.KeepSeconds = time.Since(start).Seconds()
	r.progress("insights %s: plan kept over %d events in %.1f s (%d steps)", name, p.InsightEvents, out.KeepSeconds, out.KeepSteps)

	svc := insights.New(db)
	day := 24 * time.Hour
	runs := map[string]func() error{
		insightQueries[0]: func() error {
			_, err := svc.Trend(ctx, insights.TrendQuery{From: now.Add(-30 * day), To: now, Interval: insights.Day, Breakdown: "page", Compare: true})
			return err
		},
		insightQueries[1]: func() error {
			_, err := svc.Trend(ctx, insights.TrendQuery{From: now.Add(-day), To: now, Interval: insights.Hour})
			return err
		},
		insightQueries[2]: func() error {
			_, err := svc.Funnel(ctx, insights.FunnelQuery{From: now.Add(-7 * day), To: now, Window: day, Steps: []insights.FunnelStep{
				{EventType: event.TypePageView, Filters: []insights.Filter{{Field: store.FieldPage, Op: insights.OpEquals, Value: "/"}}},
				{EventType: "add_to_cart"}, {EventType: "purchase"}}})
			return err
		},
		insightQueries[3]: func() error {
			_, err := svc.Retention(ctx, insights.RetentionQuery{Period: insights.Week, From: now.Add(-7 * 7 * day), To: now, Now: now})
			return err
		},
		insightQueries[4]: func() error {
			_, err := svc.Retention(ctx, insights.RetentionQuery{Period: insights.Day, From: now.Add(-29 * day), To: now, Now: now})
			return err
		},
		insightQueries[7]: func() error {
			_, err := svc.Trend(ctx, insights.TrendQuery{From: now.Add(-30 * day), To: now, Interval: insights.Day, Breakdown: "properties.plan", Compare: true})
			return err
		},
		insightQueries[6]: func() error {
			_, err := svc.Live(ctx, time.Now())
			return err
		},
		insightQueries[5]: func() error {
			_, err := svc.Trend(ctx, insights.TrendQuery{From: now.Add(-7 * day), To: now, Interval: insights.Day, Measure: insights.MeasureUsers})
			return err
		},
	}
	for _, q := range insightQueries {
		var d []time.Duration
		for range p.InsightReps {
			t := time.Now()
			if err := runs[q](); err != nil {
				return out, fmt.Errorf("insights on %s: %s: %w", name, q, err)
			}
			d = append(d, time.Since(t))
		}
		out.Queries[q] = latency(d)
		r.progress("insights %s: %s: p50 %.1f ms, p95 %.1f ms", name, q, out.Queries[q].P50, out.Queries[q].P95)
	}
	return out, nil
}

// preloadJourneys writes n events of the journeys of users over the days
// before now, in time order: each visit is a user's walk down
// journeySteps, and the users come back with falling odds.
func preloadJourneys(ctx context.Context, db store.Store, n, users, days int, now time.Time) error {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(users)))
	span := time.Duration(days) * 24 * time.Hour
	from := now.Add(-span)
	signedUp := make([]bool, users)
	props := userProperties(users)
	// Each record's partition is the one Pulse's producer would choose: kgo's
	// default partitioner hashes the key, user_id:event_type, so a user's
	// events of one type are all in one partition.
	partitioner := kgo.StickyKeyPartitioner(nil).ForTopic("user_events")
	batch := make([]store.Record, 0, 10_000)
	flush := func() error {
		if _, err := db.Write(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	for i := 0; i < n; {
		// Visits spread evenly over the span; the user is new or returning
		// (lower ids are the regulars).
		at := from.Add(time.Duration(float64(span) * float64(i) / float64(n)))
		u := int(float64(users) * rng.Float64() * rng.Float64())
		for s, st := range journeySteps {
			if i == n || (s > 0 && rng.Float64() >= st.p) {
				break
			}
			if st.typ == "signup" {
				if signedUp[u] {
					continue
				}
				signedUp[u] = true
			}
			at = at.Add(time.Duration(5+rng.IntN(120)) * time.Second)
			id := fmt.Sprintf("ins-%09d", i)
			e := &event.Event{EventID: id, UserID: fmt.Sprintf("user_%06d", u), EventType: st.typ, Page: st.page, Timestamp: at,
				SessionID: fmt.Sprintf("s_%d", i), Properties: props[u]}
			part := partitioner.Partition(&kgo.Record{Key: []byte(e.UserID + ":" + e.EventType)}, 3)
			batch = append(batch, store.Record{Event: e, Message: event.Message{EventID: id, EventType: st.typ,
				Status: event.StatusCompleted, Source: event.SourceProducer, Topic: "user_events",
				Partition: int32(part), Offset: int64(i), QueuedAt: at}})
			i++
			if len(batch) == cap(batch) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// Plans and countries of the preloaded users, most common first.
var (
	userPlans     = []string{"free", "pro", "team"}
	userCountries = []string{"US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "ES", "NL"}
)

// userProperties gives each user a plan and a country, the same on all
// their events, so that a breakdown by a property splits the users: most
// are on the free plan and in the first countries.
func userProperties(users int) []json.RawMessage {
	rng := rand.New(rand.NewPCG(uint64(users), 7))
	props := make([]json.RawMessage, users)
	for u := range props {
		plan := userPlans[0]
		switch x := rng.Float64(); {
		case x < 0.05:
			plan = userPlans[2]
		case x < 0.25:
			plan = userPlans[1]
		}
		country := userCountries[int(float64(len(userCountries))*rng.Float64()*rng.Float64())]
		props[u] = json.RawMessage(`{"plan":"` + plan + `","country":"` + country + `"}`)
	}
	return props
}
