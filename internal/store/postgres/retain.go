package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// Retain deletes events and processing-log rows older than r.MaxAge, and
// the oldest rows of each table beyond r.MaxRows, and the series older
// than series.Keep whatever r says. It returns the number of events
// deleted.
//
// Ids are handed out as rows are appended, with created_at taken at write
// time, so the id order follows created_at up to the length of a write: the
// cut is found by walking the primary key from the oldest row, touching
// only rows that go, and rows are deleted in id ranges of deleteChunk, each
// its own short transaction.
func (d *DB) Retain(ctx context.Context, r store.Retention) (int64, error) {
	if d.closed.Load() {
		return 0, store.ErrClosed
	}
	if err := d.retainSeries(ctx); err != nil {
		return 0, err
	}
	if r.MaxAge <= 0 && r.MaxRows <= 0 {
		return 0, nil
	}
	var events int64
	for _, table := range []string{"events", "messages"} {
		cut, err := d.cutoff(ctx, table, r)
		if err != nil {
			return events, d.fail("retain "+table, err)
		}
		n, err := d.deleteBelow(ctx, table, cut)
		if table == "events" {
			events = n
		}
		if err != nil {
			return events, d.fail("retain "+table, err)
		}
		if n > 0 {
			d.log.Info("retention deleted rows", "table", table, "rows", n)
		}
	}
	return events, nil
}

// cutoff returns the lowest id to keep in table.
func (d *DB) cutoff(ctx context.Context, table string, r store.Retention) (int64, error) {
	var cut int64
	if r.MaxAge > 0 {
		// The first row young enough, or past the end when every row is old.
		q := fmt.Sprintf(`SELECT coalesce(
			(SELECT id FROM %[1]s WHERE created_at >= $1 ORDER BY id LIMIT 1),
			(SELECT max(id) + 1 FROM %[1]s), 0)`, table)
		if err := d.pool.QueryRow(ctx, q, time.Now().Add(-r.MaxAge)).Scan(&cut); err != nil {
			return 0, err
		}
	}
	if r.MaxRows > 0 {
		var c int64
		q := fmt.Sprintf(`SELECT coalesce(
			(SELECT id FROM %s ORDER BY id DESC OFFSET $1 LIMIT 1), 0)`, table)
		if err := d.pool.QueryRow(ctx, q, r.MaxRows-1).Scan(&c); err != nil {
			return 0, err
		}
		cut = max(cut, c)
	}
	return cut, nil
}

// deleteBelow deletes the rows of table with id < cut, deleteChunk ids at
// a time starting from the oldest, and takes what each chunk deleted off
// the running totals and the rollups in the same statement; the rollup
// rows it empties go in a second statement of the chunk's transaction.
func (d *DB) deleteBelow(ctx context.Context, table string, cut int64) (int64, error) {
	if cut <= 0 {
		return 0, nil
	}
	q := retainEventsSQL
	if table == "messages" {
		q = retainMessagesSQL
	}
	var total int64
	for attempt := 1; ; {
		n, err := d.deleteChunk(ctx, q, cut)
		// A chunk and a batch that add to the same rollup rows can
		// deadlock; the server aborts one, which wrote nothing.
		if err != nil && retryable(err) && attempt < maxAttempts {
			if err := pause(ctx, attempt); err != nil {
				return total, err
			}
			attempt++
			continue
		}
		attempt = 1
		total += n
		// The chunk starts at the oldest row, so it deletes at least one row
		// while any row below cut is left.
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (d *DB) deleteChunk(ctx context.Context, q string, cut int64) (int64, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	if q == retainEventsSQL {
		if err := lockForDeletes(ctx, tx); err != nil {
			return 0, err
		}
	}
	var g goneRows
	if err := tx.QueryRow(ctx, q, cut, deleteChunk).Scan(g.dest()...); err != nil {
		return 0, err
	}
	if err := g.clear(ctx, tx); err != nil {
		return 0, err
	}
	return g.n, tx.Commit(ctx)
}

// lockForDeletes takes the locks a transaction that deletes events holds
// before it does. The keys' counted_from stays put until it commits (see
// rollup_keys.go). It then waits for the batches in flight and holds new
// ones off until it commits: both add to the same rollup, activity and
// totals rows, in orders that could deadlock. SHARE ROW EXCLUSIVE, unlike
// SHARE, conflicts with itself: two such transactions, each holding it,
// would otherwise deadlock on the ROW EXCLUSIVE their DELETE takes.
func lockForDeletes(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM rollup_keys FOR SHARE`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// goneRows is the answer of a statement in retainEventsSQL's shape: the
// rows deleted, and the rollup and activity rows it left at zero.
type goneRows struct {
	n                    int64
	widths, buckets      []int64
	dims, types, values  []string
	parts                []int32
	idleTypes, idleUsers []string
	idleDays             []int64
	idleParts            []int32
}

func (g *goneRows) dest() []any {
	return []any{&g.n, &g.widths, &g.dims, &g.types, &g.buckets, &g.values, &g.parts,
		&g.idleTypes, &g.idleDays, &g.idleUsers, &g.idleParts}
}

// clear deletes the rows g says were left at zero, and the sketches of
// the minutes, hours and days left without an event of their type.
func (g *goneRows) clear(ctx context.Context, tx pgx.Tx) error {
	if len(g.idleTypes) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM activity a
			USING unnest($1::text[], $2::int8[], $3::text[], $4::int4[]) AS k(event_type, day, user_id, part)
			WHERE a.day = k.day AND a.user_id = k.user_id AND a.event_type = k.event_type
				AND a."partition" = k.part AND a.events <= 0`,
			g.idleTypes, g.idleDays, g.idleUsers, g.idleParts); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, clearSpansSQL, g.idleTypes, g.idleDays, g.idleUsers, g.idleParts); err != nil {
			return err
		}
	}
	if len(g.widths) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM rollups r
		USING unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::int4[])
			AS k(width, dim, event_type, bucket, value, part)
		WHERE r.width = k.width AND r.dim = k.dim AND r.event_type = k.event_type
			AND r.bucket = k.bucket AND r.value = k.value AND r."partition" = k.part AND r.events <= 0`,
		g.widths, g.dims, g.types, g.buckets, g.values, g.parts); err != nil {
		return err
	}
	var minuteTypes []string
	var minutes []int64
	for i := range g.widths {
		if g.widths[i] == store.RollupMinute && g.dims[i] == store.DimAll {
			minuteTypes, minutes = append(minuteTypes, g.types[i]), append(minutes, g.buckets[i])
		}
	}
	if len(minutes) > 0 {
		if _, err := tx.Exec(ctx, pruneUniquesSQL, minuteTypes, minutes); err != nil {
			return err
		}
	}
	return nil
}

// clearSpansSQL clears the bits of the activity rows deleted (arrays of
// their types, days, users and partitions) in active_spans, and deletes
// the rows it would leave without a day. The two parts touch different
// rows, as one statement must: the deletes that call it hold the writers
// off, so the rows do not change under it.
var clearSpansSQL = `WITH k AS (
	SELECT ` + spanFromSQL + ` AS span_from, user_id, event_type, part, bit_or(` + spanBitSQL + `) AS bits
	FROM unnest($1::text[], $2::int8[], $3::text[], $4::int4[]) AS k(event_type, day, user_id, part)
	GROUP BY 1, 2, 3, 4
), emptied AS (
	DELETE FROM active_spans s USING k
	WHERE s.span_from = k.span_from AND s.user_id = k.user_id AND s.event_type = k.event_type
		AND s."partition" = k.part AND s.days & ~k.bits = 0
)
UPDATE active_spans s SET days = s.days & ~k.bits FROM k
WHERE s.span_from = k.span_from AND s.user_id = k.user_id AND s.event_type = k.event_type
	AND s."partition" = k.part AND s.days & ~k.bits <> 0`

// retainEventsSQL deletes a chunk of events ($1 the cut, $2 the chunk) and
// takes them off the totals and the rollups; it returns how many went and
// the rollup rows left at zero.
var retainEventsSQL = `WITH gone AS (
	DELETE FROM events WHERE id < least($1::bigint, (SELECT min(id) FROM events) + $2::bigint)
	` + takeOffEventsSQL

// takeOffEventsSQL follows the DELETE of events that starts a statement:
// it takes the rows deleted off the totals, the rollups and the activity,
// and answers in goneRows' shape.
var takeOffEventsSQL = `RETURNING id, "partition", event_type, element_id, "timestamp", page, source_id, user_id, properties
), inactive AS (
	INSERT INTO activity AS a (day, user_id, event_type, "partition", events)
	SELECT floor(extract(epoch FROM "timestamp") / 86400)::int8, user_id, event_type, "partition", -count(*)
	FROM gone GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
	ON CONFLICT (day, user_id, event_type, "partition") DO UPDATE SET events = a.events + excluded.events
	RETURNING a.event_type, a.day, a.user_id, a."partition", a.events
), idle AS (
	SELECT coalesce(array_agg(event_type), '{}') AS types, coalesce(array_agg(day), '{}') AS days,
		coalesce(array_agg(user_id), '{}') AS users, coalesce(array_agg("partition"), '{}') AS parts
	FROM inactive WHERE events <= 0
), taken AS (
	INSERT INTO totals AS t ("partition", kind, key, n, ms)
	SELECT * FROM (
		SELECT "partition", 'type' AS kind, event_type AS key, -count(*) AS n, 0::float8 AS ms FROM gone
		GROUP BY "partition", event_type
		UNION ALL
		SELECT "partition", 'click', element_id, -count(*), 0 FROM gone
		WHERE event_type = 'button_click' GROUP BY "partition", element_id
	) d ORDER BY 1, 2, 3
	ON CONFLICT ("partition", kind, key) DO UPDATE SET n = t.n + excluded.n, ms = t.ms + excluded.ms
), rolled AS (
	INSERT INTO rollups AS r (width, dim, event_type, bucket, value, "partition", events)
	SELECT w.width, d.dim, gone.event_type, floor(extract(epoch FROM gone."timestamp") / w.width)::int8 * w.width,
		CASE d.dim WHEN 'page' THEN gone.page WHEN 'element_id' THEN gone.element_id
			WHEN 'source_id' THEN gone.source_id ELSE '' END,
		gone."partition", -count(*)
	FROM gone, (VALUES (60::int8), (3600::int8)) w(width),
		(VALUES (''), ('page'), ('element_id'), ('source_id')) d(dim)
	GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
	ON CONFLICT (width, dim, event_type, bucket, value, "partition") DO UPDATE SET events = r.events + excluded.events
	RETURNING r.width, r.dim, r.event_type, r.bucket, r.value, r."partition", r.events
), keyed AS (
	INSERT INTO rollups AS r (width, dim, event_type, bucket, value, "partition", events)
	SELECT w.width, '#' || k.id, gone.event_type, floor(extract(epoch FROM gone."timestamp") / w.width)::int8 * w.width,
		` + goneValueSQL + `, gone."partition", -count(*)
	FROM gone JOIN rollup_keys k ON NOT k.removed AND gone.id >= k.counted_from,
		(VALUES (60::int8), (3600::int8)) w(width)
	GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
	ON CONFLICT (width, dim, event_type, bucket, value, "partition") DO UPDATE SET events = r.events + excluded.events
	RETURNING r.width, r.dim, r.event_type, r.bucket, r.value, r."partition", r.events
), changed AS (
	SELECT * FROM rolled UNION ALL SELECT * FROM keyed
)
SELECT (SELECT count(*) FROM gone),
	coalesce(array_agg(width) FILTER (WHERE events <= 0), '{}'),
	coalesce(array_agg(dim) FILTER (WHERE events <= 0), '{}'),
	coalesce(array_agg(event_type) FILTER (WHERE events <= 0), '{}'),
	coalesce(array_agg(bucket) FILTER (WHERE events <= 0), '{}'),
	coalesce(array_agg(value) FILTER (WHERE events <= 0), '{}'),
	coalesce(array_agg("partition") FILTER (WHERE events <= 0), '{}'),
	(SELECT types FROM idle), (SELECT days FROM idle), (SELECT users FROM idle), (SELECT parts FROM idle)
FROM changed`

// goneValueSQL is a property's rollup value for a deleted row.
var goneValueSQL = fmt.Sprintf(propertyValueSQL, "gone", "k.key")

// retainMessagesSQL deletes a chunk of processing-log rows and takes them
// off the totals; it answers in retainEventsSQL's shape.
const retainMessagesSQL = `WITH gone AS (
	DELETE FROM messages WHERE id < least($1::bigint, (SELECT min(id) FROM messages) + $2::bigint)
	` + takeOffMessagesSQL

// takeOffMessagesSQL follows the DELETE of processing-log rows that starts
// a statement, as takeOffEventsSQL does the events'.
const takeOffMessagesSQL = `RETURNING "partition", status, duration_ms
), taken AS (
	INSERT INTO totals AS t ("partition", kind, key, n, ms)
	SELECT "partition", 'status', status, -count(*), -sum(duration_ms) FROM gone
	GROUP BY "partition", status ORDER BY 1, 3
	ON CONFLICT ("partition", kind, key) DO UPDATE SET n = t.n + excluded.n, ms = t.ms + excluded.ms
)
SELECT count(*), '{}'::int8[], '{}'::text[], '{}'::text[], '{}'::int8[], '{}'::text[], '{}'::int4[],
	'{}'::text[], '{}'::int8[], '{}'::text[], '{}'::int4[] FROM gone`
