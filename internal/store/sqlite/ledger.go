package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulse-dev/pulse/internal/ledger"
	"github.com/pulse-dev/pulse/internal/store"
)

const addLedgerSQL = `INSERT INTO ledger_counts (bucket, source_id, "partition", numbered, received, rejected,
	dnt_dropped, stored, sequenced, duplicates, dropped_client, late, skew_corrected)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (bucket, source_id, "partition") DO UPDATE SET
	numbered = numbered + excluded.numbered, received = received + excluded.received,
	rejected = rejected + excluded.rejected, dnt_dropped = dnt_dropped + excluded.dnt_dropped,
	stored = stored + excluded.stored, sequenced = sequenced + excluded.sequenced,
	duplicates = duplicates + excluded.duplicates, dropped_client = dropped_client + excluded.dropped_client,
	late = late + excluded.late, skew_corrected = skew_corrected + excluded.skew_corrected`

func ledgerArgs(k ledger.Key, c ledger.Counts) []any {
	return []any{k.Bucket, k.SourceID, k.Partition, c.Numbered, c.Received, c.Rejected, c.DNTDropped,
		c.Stored, c.Sequenced, c.Duplicates, c.DroppedClient, c.Late, c.SkewCorrected}
}

// writeLedger adds what a batch stored of the sources' events to the
// ledger, in its transaction: each stream's highest number is read and
// moved on (the writer is alone, so the read is exact), then the counts
// are added. Nothing runs for a batch without such events.
func writeLedger(tx *sql.Tx, at time.Time, d *ledger.Delta) error {
	if d.Empty() {
		return nil
	}
	for _, sk := range d.StreamRows() {
		var prev int64
		err := tx.QueryRow(`SELECT max_seq FROM ledger_streams WHERE source_id = ? AND stream_id = ?`, sk.SourceID, sk.StreamID).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("ledger stream: %w", err)
		}
		high := d.Advance(at, sk, prev)
		if _, err := tx.Exec(`INSERT INTO ledger_streams (source_id, stream_id, max_seq, last_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (source_id, stream_id) DO UPDATE SET max_seq = excluded.max_seq, last_at = excluded.last_at`,
			sk.SourceID, sk.StreamID, high, at.Unix()); err != nil {
			return fmt.Errorf("ledger stream: %w", err)
		}
	}
	for _, k := range d.RowKeys() {
		if _, err := tx.Exec(addLedgerSQL, ledgerArgs(k, d.Rows[k])...); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
	}
	return nil
}

// AddLedger adds the collector's counts.
func (d *DB) AddLedger(ctx context.Context, points []ledger.Point) error {
	if len(points) == 0 {
		return nil
	}
	if err := d.writable(); err != nil {
		return err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail("add ledger", err)
	}
	for _, p := range points {
		k := ledger.Key{Bucket: bucketOf(p.T), SourceID: p.SourceID, Partition: -1}
		if _, err := tx.ExecContext(ctx, addLedgerSQL, ledgerArgs(k, p.Counts)...); err != nil {
			_ = tx.Rollback()
			return d.fail("add ledger", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return d.fail("add ledger", err)
	}
	return nil
}

// LedgerSeries sums the ledger per source and step of [from, to).
func (d *DB) LedgerSeries(ctx context.Context, sourceID string, from, to time.Time, step time.Duration) ([]ledger.Point, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	first, last, width := from.Unix(), to.Unix(), int64(step/time.Second)
	if width <= 0 {
		return nil, fmt.Errorf("ledger series: step %v is under a second", step)
	}
	rows, err := d.r.QueryContext(ctx, `SELECT ?1 + (bucket - ?1) / ?3 * ?3 AS t, source_id,
		sum(numbered), sum(received), sum(rejected), sum(dnt_dropped), sum(stored), sum(sequenced),
		sum(duplicates), sum(dropped_client), sum(late), sum(skew_corrected)
		FROM ledger_counts WHERE bucket >= ?1 AND bucket < ?2 AND (?4 = '' OR source_id = ?4)
		GROUP BY 1, 2 ORDER BY 1, 2`, first, last, width, sourceID)
	if err != nil {
		return nil, d.fail("ledger series", err)
	}
	defer rows.Close()
	var out []ledger.Point
	for rows.Next() {
		var (
			p ledger.Point
			t int64
			c = &p.Counts
		)
		if err := rows.Scan(&t, &p.SourceID, &c.Numbered, &c.Received, &c.Rejected, &c.DNTDropped, &c.Stored,
			&c.Sequenced, &c.Duplicates, &c.DroppedClient, &c.Late, &c.SkewCorrected); err != nil {
			return nil, d.fail("ledger series", err)
		}
		p.T = time.Unix(t, 0).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("ledger series", err)
	}
	return out, nil
}

// bucketOf is the ledger bucket of t, in Unix seconds.
func bucketOf(t time.Time) int64 {
	w := int64(ledger.Bucket / time.Second)
	s := t.Unix()
	return s - ((s%w)+w)%w
}

var _ store.Ledger = (*DB)(nil)
