package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/event"
	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

const (
	addEventsSQL = `INSERT INTO series_events (bucket, "partition", event_type, events) VALUES (?, ?, ?, ?)
ON CONFLICT (bucket, "partition", event_type) DO UPDATE SET events = events + excluded.events`
	addLatencySQL = `INSERT INTO series_latency (bucket, "partition", bin, events) VALUES (?, ?, ?, ?)
ON CONFLICT (bucket, "partition", bin) DO UPDATE SET events = events + excluded.events`
)

// writeSeries adds what a batch stored to the series, in its transaction:
// a few rows per batch (one per bucket, partition and type or latency
// bin), whatever its size, with statements prepared once at open.
func (db *DB) writeSeries(tx *sql.Tx, d *series.Delta) error {
	if d.Empty() {
		return nil
	}
	ev, lat := tx.Stmt(db.addEvents), tx.Stmt(db.addLatency)
	for _, k := range d.EventRows() {
		if _, err := ev.Exec(k.Bucket, k.Partition, k.EventType, d.Events[k]); err != nil {
			return fmt.Errorf("series of %q: %w", k.EventType, err)
		}
	}
	for _, k := range d.BinRows() {
		if _, err := lat.Exec(k.Bucket, k.Partition, k.Bin, d.Latency[k]); err != nil {
			return fmt.Errorf("latency series: %w", err)
		}
	}
	return nil
}

// EventSeries returns the events per step and type of [from, to), and
// their latency histogram per step. It reads the buckets of the range
// only (the primary key starts with the bucket).
func (d *DB) EventSeries(ctx context.Context, from, to time.Time, step time.Duration) ([]series.Count, []series.BinCount, error) {
	if err := d.usable(); err != nil {
		return nil, nil, err
	}
	first, last, width := from.Unix(), to.Unix(), int64(step/time.Second)
	if width <= 0 {
		return nil, nil, fmt.Errorf("event series: step %v is under a second", step)
	}
	// The step start of a bucket: first + (bucket-first) rounded down to width.
	rows, err := d.r.QueryContext(ctx, `SELECT ?1 + (bucket - ?1) / ?3 * ?3, event_type, sum(events)
		FROM series_events WHERE bucket >= ?1 AND bucket < ?2 GROUP BY 1, 2`, first, last, width)
	if err != nil {
		return nil, nil, d.fail("event series", err)
	}
	var counts []series.Count
	for rows.Next() {
		var c series.Count
		if err := rows.Scan(&c.Start, &c.EventType, &c.Events); err != nil {
			rows.Close()
			return nil, nil, d.fail("event series", err)
		}
		counts = append(counts, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, d.fail("event series", err)
	}
	rows, err = d.r.QueryContext(ctx, `SELECT ?1 + (bucket - ?1) / ?3 * ?3, bin, sum(events)
		FROM series_latency WHERE bucket >= ?1 AND bucket < ?2 GROUP BY 1, 2`, first, last, width)
	if err != nil {
		return nil, nil, d.fail("latency series", err)
	}
	defer rows.Close()
	var bins []series.BinCount
	for rows.Next() {
		var b series.BinCount
		if err := rows.Scan(&b.Start, &b.Bin, &b.Events); err != nil {
			return nil, nil, d.fail("latency series", err)
		}
		bins = append(bins, b)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, d.fail("latency series", err)
	}
	return counts, bins, nil
}

// WriteLag keeps a lag sample.
func (d *DB) WriteLag(ctx context.Context, p series.LagPoint) error {
	if err := d.writable(); err != nil {
		return err
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO lag_samples (t, total_lag, max_lag_seconds, events_per_second)
		VALUES (?, ?, ?, ?) ON CONFLICT (t) DO UPDATE SET total_lag = excluded.total_lag,
		max_lag_seconds = excluded.max_lag_seconds, events_per_second = excluded.events_per_second`,
		micros(p.T), p.TotalLag, p.MaxLagSeconds, p.EventsPerSecond)
	if err != nil {
		return d.fail("write lag", err)
	}
	return nil
}

// LagSeries returns one point per step of [from, to) with samples.
func (d *DB) LagSeries(ctx context.Context, from, to time.Time, step time.Duration) ([]series.LagPoint, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	width := step.Microseconds()
	if width <= 0 {
		return nil, fmt.Errorf("lag series: step %v is under a microsecond", step)
	}
	rows, err := d.r.QueryContext(ctx, `SELECT ?1 + (t - ?1) / ?3 * ?3, max(total_lag), max(max_lag_seconds),
		avg(events_per_second) FROM lag_samples WHERE t >= ?1 AND t < ?2 GROUP BY 1 ORDER BY 1`,
		micros(from), micros(to), width)
	if err != nil {
		return nil, d.fail("lag series", err)
	}
	defer rows.Close()
	out := []series.LagPoint{}
	for rows.Next() {
		var (
			p  series.LagPoint
			at int64
		)
		if err := rows.Scan(&at, &p.TotalLag, &p.MaxLagSeconds, &p.EventsPerSecond); err != nil {
			return nil, d.fail("lag series", err)
		}
		p.T = fromMicros(at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("lag series", err)
	}
	return out, nil
}

// WriteMarkers keeps markers.
func (d *DB) WriteMarkers(ctx context.Context, ms []event.Marker) error {
	if len(ms) == 0 {
		return nil
	}
	if err := d.writable(); err != nil {
		return err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail("write markers", err)
	}
	for _, m := range ms {
		if _, err := tx.ExecContext(ctx, `INSERT INTO markers (t, kind, detail) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, micros(m.T), string(m.Kind), m.Detail); err != nil {
			_ = tx.Rollback()
			return d.fail("write markers", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return d.fail("write markers", err)
	}
	return nil
}

// Markers returns the newest limit markers of [from, to), oldest first.
func (d *DB) Markers(ctx context.Context, from, to time.Time, limit int) ([]event.Marker, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT t, kind, detail FROM (
		SELECT t, kind, detail FROM markers WHERE t >= ? AND t < ? ORDER BY t DESC LIMIT ?) ORDER BY t`,
		micros(from), micros(to), limit)
	if err != nil {
		return nil, d.fail("markers", err)
	}
	defer rows.Close()
	out := []event.Marker{}
	for rows.Next() {
		var (
			m  event.Marker
			at int64
		)
		if err := rows.Scan(&at, &m.Kind, &m.Detail); err != nil {
			return nil, d.fail("markers", err)
		}
		m.T = fromMicros(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("markers", err)
	}
	return out, nil
}

// retainSeries deletes the series older than series.Keep.
func (d *DB) retainSeries(ctx context.Context) error {
	cut := time.Now().Add(-series.Keep)
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM series_events WHERE bucket < ?`, cut.Unix()},
		{`DELETE FROM series_latency WHERE bucket < ?`, cut.Unix()},
		{`DELETE FROM lag_samples WHERE t < ?`, micros(cut)},
		{`DELETE FROM markers WHERE t < ?`, micros(cut)},
		{`DELETE FROM replays WHERE replayed_at < ?`, micros(time.Now().Add(-store.ReplayKeep))},
		// The ledger's bucket is the first column of its key; a stream's
		// last_at has its own index.
		{`DELETE FROM ledger_counts WHERE bucket < ?`, time.Now().Add(-ledger.Keep).Unix()},
		{`DELETE FROM ledger_streams WHERE last_at < ?`, time.Now().Add(-ledger.Keep).Unix()},
		{`DELETE FROM plan_warnings WHERE last_at < ?`, micros(time.Now().Add(-store.WarningKeep))},
	} {
		if _, err := d.w.ExecContext(ctx, q.sql, q.arg); err != nil {
			return d.fail("retain series", err)
		}
	}
	return nil
}

// usable returns the error of a read on a closed store.
func (d *DB) usable() error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// writable returns the error of a write on a closed or damaged store.
func (d *DB) writable() error {
	if err := d.usable(); err != nil {
		return err
	}
	return d.corruption()
}
