package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

// EventSeries returns the events per step and type of [from, to), and
// their latency histogram per step. The events series are written by
// insertEventsSQL, in each batch's statement.
func (d *DB) EventSeries(ctx context.Context, from, to time.Time, step time.Duration) ([]series.Count, []series.BinCount, error) {
	if d.closed.Load() {
		return nil, nil, store.ErrClosed
	}
	first, last, width := from.Unix(), to.Unix(), int64(step/time.Second)
	if width <= 0 {
		return nil, nil, fmt.Errorf("event series: step %v is under a second", step)
	}
	rows, _ := d.pool.Query(ctx, `SELECT $1::int8 + (bucket - $1::int8) / $3::int8 * $3::int8, event_type, sum(events)::int8
		FROM series_events WHERE bucket >= $1 AND bucket < $2 GROUP BY 1, 2`, first, last, width)
	counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (series.Count, error) {
		var c series.Count
		err := r.Scan(&c.Start, &c.EventType, &c.Events)
		return c, err
	})
	if err != nil {
		return nil, nil, d.fail("event series", err)
	}
	rows, _ = d.pool.Query(ctx, `SELECT $1::int8 + (bucket - $1::int8) / $3::int8 * $3::int8, bin::int4, sum(events)::int8
		FROM series_latency WHERE bucket >= $1 AND bucket < $2 GROUP BY 1, 2`, first, last, width)
	bins, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (series.BinCount, error) {
		var b series.BinCount
		err := r.Scan(&b.Start, &b.Bin, &b.Events)
		return b, err
	})
	if err != nil {
		return nil, nil, d.fail("latency series", err)
	}
	return counts, bins, nil
}

// WriteLag keeps a lag sample.
func (d *DB) WriteLag(ctx context.Context, p series.LagPoint) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO lag_samples (t, total_lag, max_lag_seconds, events_per_second)
		VALUES ($1, $2, $3, $4) ON CONFLICT (t) DO UPDATE SET total_lag = excluded.total_lag,
		max_lag_seconds = excluded.max_lag_seconds, events_per_second = excluded.events_per_second`,
		p.T, p.TotalLag, p.MaxLagSeconds, p.EventsPerSecond)
	if err != nil {
		return d.fail("write lag", err)
	}
	return nil
}

// LagSeries returns one point per step of [from, to) with samples.
func (d *DB) LagSeries(ctx context.Context, from, to time.Time, step time.Duration) ([]series.LagPoint, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	if step < time.Microsecond {
		return nil, fmt.Errorf("lag series: step %v is under a microsecond", step)
	}
	// Grouped in Unix microseconds, as the SQLite store does.
	first := from.UnixMicro()
	rows, _ := d.pool.Query(ctx, `SELECT $1::int8 + ((extract(epoch FROM t) * 1000000)::int8 - $1::int8) / $2::int8 * $2::int8,
			max(total_lag), max(max_lag_seconds), avg(events_per_second)
		FROM lag_samples WHERE t >= $3 AND t < $4 GROUP BY 1 ORDER BY 1`, first, step.Microseconds(), from, to)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (series.LagPoint, error) {
		var (
			p  series.LagPoint
			at int64
		)
		err := r.Scan(&at, &p.TotalLag, &p.MaxLagSeconds, &p.EventsPerSecond)
		p.T = time.UnixMicro(at).UTC()
		return p, err
	})
	if err != nil {
		return nil, d.fail("lag series", err)
	}
	if out == nil {
		out = []series.LagPoint{}
	}
	return out, nil
}

// WriteMarkers keeps markers.
func (d *DB) WriteMarkers(ctx context.Context, ms []event.Marker) error {
	if len(ms) == 0 {
		return nil
	}
	if d.closed.Load() {
		return store.ErrClosed
	}
	ts, kinds, details := make([]time.Time, len(ms)), make([]string, len(ms)), make([]string, len(ms))
	for i, m := range ms {
		ts[i], kinds[i], details[i] = m.T, clean(string(m.Kind)), clean(m.Detail)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO markers (t, kind, detail)
		SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`, ts, kinds, details)
	if err != nil {
		return d.fail("write markers", err)
	}
	return nil
}

// Markers returns the newest limit markers of [from, to), oldest first.
func (d *DB) Markers(ctx context.Context, from, to time.Time, limit int) ([]event.Marker, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, _ := d.pool.Query(ctx, `SELECT t, kind, detail FROM (
		SELECT t, kind, detail FROM markers WHERE t >= $1 AND t < $2 ORDER BY t DESC LIMIT $3) m ORDER BY t`,
		from, to, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (event.Marker, error) {
		var m event.Marker
		err := r.Scan(&m.T, &m.Kind, &m.Detail)
		m.T = m.T.UTC()
		return m, err
	})
	if err != nil {
		return nil, d.fail("markers", err)
	}
	if out == nil {
		out = []event.Marker{}
	}
	return out, nil
}

// retainSeries deletes the series older than series.Keep.
func (d *DB) retainSeries(ctx context.Context) error {
	cut := time.Now().Add(-series.Keep)
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM series_events WHERE bucket < $1`, cut.Unix())
	b.Queue(`DELETE FROM series_latency WHERE bucket < $1`, cut.Unix())
	b.Queue(`DELETE FROM lag_samples WHERE t < $1`, cut)
	b.Queue(`DELETE FROM markers WHERE t < $1`, cut)
	b.Queue(`DELETE FROM replays WHERE replayed_at < $1`, time.Now().Add(-store.ReplayKeep))
	b.Queue(`DELETE FROM ledger_counts WHERE bucket < $1`, time.Now().Add(-ledger.Keep).Unix())
	b.Queue(`DELETE FROM ledger_streams WHERE last_at < $1`, time.Now().Add(-ledger.Keep).Unix())
	b.Queue(`DELETE FROM plan_warnings WHERE last_at < $1`, time.Now().Add(-store.WarningKeep))
	if err := d.pool.SendBatch(ctx, b).Close(); err != nil {
		return d.fail("retain series", err)
	}
	return nil
}
