package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/series"
	"github.com/pulse-dev/pulse/internal/store"
)

const addLedgerSQL = `INSERT INTO ledger_counts AS l (bucket, source_id, "partition", numbered, received, rejected,
	dnt_dropped, stored, sequenced, duplicates, dropped_client, late, skew_corrected)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (bucket, source_id, "partition") DO UPDATE SET
	numbered = l.numbered + excluded.numbered, received = l.received + excluded.received,
	rejected = l.rejected + excluded.rejected, dnt_dropped = l.dnt_dropped + excluded.dnt_dropped,
	stored = l.stored + excluded.stored, sequenced = l.sequenced + excluded.sequenced,
	duplicates = l.duplicates + excluded.duplicates, dropped_client = l.dropped_client + excluded.dropped_client,
	late = l.late + excluded.late, skew_corrected = l.skew_corrected + excluded.skew_corrected`

func ledgerArgs(k ledger.Key, c ledger.Counts) []any {
	return []any{k.Bucket, clean(k.SourceID), k.Partition, c.Numbered, c.Received, c.Rejected, c.DNTDropped,
		c.Stored, c.Sequenced, c.Duplicates, c.DroppedClient, c.Late, c.SkewCorrected}
}

// writeLedger adds what a batch stored of the sources' events to the
// ledger, in its transaction. Each stream's row is locked by the upsert
// that reads its highest number (an ON CONFLICT DO UPDATE takes the row
// lock and returns the number as it was: only last_at changes), so two
// consumers storing one stream's events take turns and count exactly;
// rows are locked in key order, so they cannot deadlock on them.
func writeLedger(ctx context.Context, tx pgx.Tx, at time.Time, d *ledger.Delta) error {
	if d.Empty() {
		return nil
	}
	streams := d.StreamRows()
	if len(streams) > 0 {
		b := &pgx.Batch{}
		for _, sk := range streams {
			b.Queue(`INSERT INTO ledger_streams AS s (source_id, stream_id, max_seq, last_at) VALUES ($1, $2, 0, $3)
				ON CONFLICT (source_id, stream_id) DO UPDATE SET last_at = excluded.last_at RETURNING s.max_seq`,
				clean(sk.SourceID), clean(sk.StreamID), at.Unix())
		}
		prevs := make([]int64, len(streams))
		br := tx.SendBatch(ctx, b)
		for i := range streams {
			if err := br.QueryRow().Scan(&prevs[i]); err != nil {
				_ = br.Close()
				return fmt.Errorf("ledger stream: %w", err)
			}
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("ledger stream: %w", err)
		}
		b = &pgx.Batch{}
		for i, sk := range streams {
			if high := d.Advance(at, sk, prevs[i]); high != prevs[i] {
				b.Queue(`UPDATE ledger_streams SET max_seq = $3 WHERE source_id = $1 AND stream_id = $2`,
					clean(sk.SourceID), clean(sk.StreamID), high)
			}
		}
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("ledger stream: %w", err)
			}
		}
	}
	b := &pgx.Batch{}
	for _, k := range d.RowKeys() {
		b.Queue(addLedgerSQL, ledgerArgs(k, d.Rows[k])...)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// AddLedger adds the collector's counts.
func (d *DB) AddLedger(ctx context.Context, points []ledger.Point) error {
	if len(points) == 0 {
		return nil
	}
	if d.closed.Load() {
		return store.ErrClosed
	}
	b := &pgx.Batch{}
	for _, p := range points {
		b.Queue(addLedgerSQL, ledgerArgs(ledger.Key{Bucket: series.BucketOf(p.T), SourceID: p.SourceID, Partition: -1}, p.Counts)...)
	}
	if err := d.pool.SendBatch(ctx, b).Close(); err != nil {
		return d.fail("add ledger", err)
	}
	return nil
}

// LedgerSeries sums the ledger per source and step of [from, to).
func (d *DB) LedgerSeries(ctx context.Context, sourceID string, from, to time.Time, step time.Duration) ([]ledger.Point, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	first, last, width := from.Unix(), to.Unix(), int64(step/time.Second)
	if width <= 0 {
		return nil, fmt.Errorf("ledger series: step %v is under a second", step)
	}
	rows, err := d.pool.Query(ctx, `SELECT $1::int8 + (bucket - $1::int8) / $3::int8 * $3::int8 AS t, source_id,
		sum(numbered)::int8, sum(received)::int8, sum(rejected)::int8, sum(dnt_dropped)::int8, sum(stored)::int8,
		sum(sequenced)::int8, sum(duplicates)::int8, sum(dropped_client)::int8, sum(late)::int8, sum(skew_corrected)::int8
		FROM ledger_counts WHERE bucket >= $1 AND bucket < $2 AND ($4 = '' OR source_id = $4)
		GROUP BY 1, 2 ORDER BY 1, 2`, first, last, width, clean(sourceID))
	if err != nil {
		return nil, d.fail("ledger series", err)
	}
	var (
		p ledger.Point
		t int64
		c = &p.Counts
	)
	var out []ledger.Point
	if _, err := pgx.ForEachRow(rows, []any{&t, &p.SourceID, &c.Numbered, &c.Received, &c.Rejected, &c.DNTDropped,
		&c.Stored, &c.Sequenced, &c.Duplicates, &c.DroppedClient, &c.Late, &c.SkewCorrected}, func() error {
		q := p
		q.T = time.Unix(t, 0).UTC()
		out = append(out, q)
		return nil
	}); err != nil {
		return nil, d.fail("ledger series", err)
	}
	return out, nil
}

var _ store.Ledger = (*DB)(nil)
