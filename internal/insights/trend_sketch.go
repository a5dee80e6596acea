package insights

import (
	"context"
	"fmt"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/pulse-dev/pulse/internal/store"
)

// readsSketches reports whether q's distinct users or sessions come from
// the store's sketches (store.Uniques): per minute, hour or day and type,
// so a trend of types without filters, split by nothing or by type. Other
// trends of users read the events.
func (q TrendQuery) readsSketches() bool {
	return q.Measure != MeasureCount && len(q.Filters) == 0 && (q.Breakdown == "" || q.Breakdown == "event_type")
}

// sketchPeriod answers one range of q from the sketches: each bucket's
// sketches merged per series, a series' total the merge of its buckets,
// the period's the merge of all.
func (s *Service) sketchPeriod(ctx context.Context, q TrendQuery, from, to time.Time, keys []string) (Period, []string, error) {
	buckets := bucketStarts(from, to, q.Interval)
	end := step(buckets[len(buckets)-1], q.Interval, 1)
	width := map[string]int64{Minute: store.UniqueMinute, Hour: store.UniqueHour}[q.Interval]
	if width == 0 {
		width = store.UniqueDay
	}
	index := make(map[time.Time]int, len(buckets))
	for i, b := range buckets {
		index[b] = i
	}
	cells := map[string][]*hyperloglog.Sketch{}
	err := s.store.UniqueSketches(ctx, store.UniqueQuery{Width: width, From: buckets[0], To: end, Types: q.Types},
		func(r store.UniqueRow) error {
			i, ok := index[truncate(time.Unix(r.Bucket, 0), q.Interval)]
			if !ok {
				return nil
			}
			blob := r.Users
			if q.Measure == MeasureSessions {
				blob = r.Sessions
			}
			sk, err := store.DecodeSketch(blob)
			if err != nil {
				return err
			}
			key := ""
			if q.Breakdown == "event_type" || len(q.Types) > 0 {
				key = r.EventType
			}
			row := cells[key]
			if row == nil {
				row = make([]*hyperloglog.Sketch, len(buckets))
				cells[key] = row
			}
			if row[i] == nil {
				row[i] = store.NewSketch()
			}
			return row[i].Merge(sk)
		})
	if err != nil {
		return Period{}, nil, fmt.Errorf("read the sketches: %w", err)
	}
	totals := map[string]int64{}
	all := store.NewSketch()
	for k, row := range cells {
		sum := merged(row)
		totals[k] = int64(sum.Estimate())
		if err := all.Merge(sum); err != nil {
			return Period{}, nil, err
		}
	}
	if keys == nil {
		keys = chooseKeys(q, totals)
	}
	p := Period{From: from, To: to, Buckets: buckets, Series: make([]Series, 0, len(keys)+1), Total: int64(all.Estimate())}
	shown := map[string]bool{}
	for _, k := range keys {
		shown[k] = true
		p.Series = append(p.Series, Series{Key: k, Total: totals[k], Counts: estimates(cells[k], len(buckets))})
	}
	if q.Breakdown != "" {
		rest := make([]*hyperloglog.Sketch, len(buckets))
		any := false
		for k, row := range cells {
			if shown[k] {
				continue
			}
			any = true
			for i, sk := range row {
				if sk == nil {
					continue
				}
				if rest[i] == nil {
					rest[i] = store.NewSketch()
				}
				if err := rest[i].Merge(sk); err != nil {
					return Period{}, nil, err
				}
			}
		}
		if any {
			other := Series{Key: OtherKey, Other: true, Counts: estimates(rest, len(buckets)), Total: int64(merged(rest).Estimate())}
			if other.Total != 0 {
				p.Series = append(p.Series, other)
			}
		}
	}
	return p, keys, nil
}

// merged is the union of a row's sketches.
func merged(row []*hyperloglog.Sketch) *hyperloglog.Sketch {
	out := store.NewSketch()
	for _, sk := range row {
		if sk != nil {
			_ = out.Merge(sk) // sketches of one precision always merge
		}
	}
	return out
}

// estimates is each bucket's estimate, 0 where there is no sketch.
func estimates(row []*hyperloglog.Sketch, n int) []int64 {
	out := make([]int64, n)
	for i, sk := range row {
		if sk != nil {
			out[i] = int64(sk.Estimate())
		}
	}
	return out
}
