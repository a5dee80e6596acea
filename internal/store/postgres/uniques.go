package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/pulse-dev/pulse/internal/store"
)

// uniquesVersion is the migration that adds the sketches (a Go migration:
// it fills them from the events already stored, which SQL cannot).
const uniquesVersion = 14

const createUniquesSQL = `CREATE TABLE uniques (
    width       int8  NOT NULL,
    bucket      int8  NOT NULL,
    event_type  text  NOT NULL,
    "partition" int4  NOT NULL,
    users       bytea NOT NULL,
    sessions    bytea NOT NULL,
    PRIMARY KEY (width, bucket, event_type, "partition")
)`

// uniquesMigration creates the sketches' table (store.Uniques) and fills
// it from the events already stored, type by type in time order through
// the (event_type, timestamp) index, once, at the first start after the
// upgrade.
func uniquesMigration() *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, createUniquesSQL); err != nil {
			return err
		}
		put, err := tx.PrepareContext(ctx, `INSERT INTO uniques (width, bucket, event_type, "partition", users, sessions)
			VALUES ($1, $2, $3, $4, $5, $6)`)
		if err != nil {
			return err
		}
		defer put.Close()
		f := store.UniqueFiller{Write: func(k store.UniqueKey, s *store.Sketches) error {
			u, ss, err := s.Merge(nil, nil)
			if err == nil {
				_, err = put.ExecContext(ctx, k.Width, k.Bucket, k.EventType, k.Partition, u, ss)
			}
			return err
		}}
		rows, err := tx.QueryContext(ctx, `SELECT "partition", event_type, "timestamp", user_id, session_id
			FROM events ORDER BY event_type, "timestamp"`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				part            int32
				typ, user, sess string
				ts              time.Time
			)
			if err := rows.Scan(&part, &typ, &ts, &user, &sess); err != nil {
				return err
			}
			if err := f.Add(part, ts, typ, user, sess); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return f.Flush()
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DROP TABLE uniques`)
		return err
	}
	return goose.NewGoMigration(uniquesVersion, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})
}

// uniquesOf is what a written batch adds to the sketches: every event of
// it that is stored, new or already there (a conflict, another event under
// the id, is not, nor a suppressed one, which wrote nothing). Adding an id again changes nothing, so the events of a
// batch whose sketches a crash kept from being written are added when
// Kafka delivers the batch again.
func uniquesOf(batch []store.Record, out []store.Outcome) store.UniqueDelta {
	d := store.UniqueDelta{}
	for i := range batch {
		e := batch[i].Event
		if e == nil || out[i].Conflict != "" || out[i].Suppressed {
			continue
		}
		d.Event(batch[i].Message.Partition, e.Timestamp, clean(e.EventType), clean(e.UserID), clean(e.SessionID))
	}
	return d
}

// addUniques adds a written batch's ids to the sketches. The batch is
// stored by then, so a failure does not fail it: failing it would have
// its records written again and counted as duplicates (the ledger) and
// not as new (the live feed). Adding ids again changes nothing, so the
// write is tried again on the errors worth it; one that still fails is
// logged, and the sketches miss those ids until the events come again.
func (d *DB) addUniques(ctx context.Context, delta store.UniqueDelta) {
	for attempt := 1; ; attempt++ {
		err := d.writeUniques(ctx, delta)
		if err == nil {
			return
		}
		if !retryable(err) || attempt == maxAttempts || pause(ctx, attempt) != nil {
			d.log.Error("the sketches of distinct users miss a batch's ids", "keys", len(delta), "err", err)
			return
		}
	}
}

// writeUniques adds delta to the sketches in its own transaction: the
// rows are locked in key order, merged and written back. Their partitions
// have one writer at a time, so writers do not wait on one another.
func (d *DB) writeUniques(ctx context.Context, delta store.UniqueDelta) error {
	if len(delta) == 0 {
		return nil
	}
	keys := delta.Keys()
	widths, buckets, types, parts := make([]int64, len(keys)), make([]int64, len(keys)), make([]string, len(keys)), make([]int32, len(keys))
	for i, k := range keys {
		widths[i], buckets[i], types[i], parts[i] = k.Width, k.Bucket, k.EventType, k.Partition
	}
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT u.width, u.bucket, u.event_type, u."partition", u.users, u.sessions
			FROM uniques u JOIN unnest($1::int8[], $2::int8[], $3::text[], $4::int4[]) AS k(width, bucket, event_type, part)
				ON u.width = k.width AND u.bucket = k.bucket AND u.event_type = k.event_type AND u."partition" = k.part
			ORDER BY 1, 3, 2, 4 FOR UPDATE OF u`, widths, buckets, types, parts)
		if err != nil {
			return err
		}
		stored := map[store.UniqueKey][2][]byte{}
		for rows.Next() {
			var (
				k     store.UniqueKey
				u, ss []byte
			)
			if err := rows.Scan(&k.Width, &k.Bucket, &k.EventType, &k.Partition, &u, &ss); err != nil {
				rows.Close()
				return err
			}
			stored[k] = [2][]byte{u, ss}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		users, sessions := make([][]byte, len(keys)), make([][]byte, len(keys))
		for i, k := range keys {
			old := stored[k]
			if users[i], sessions[i], err = delta[k].Merge(old[0], old[1]); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO uniques (width, bucket, event_type, "partition", users, sessions)
			SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::int4[], $5::bytea[], $6::bytea[])
			ON CONFLICT (width, bucket, event_type, "partition") DO UPDATE SET users = excluded.users, sessions = excluded.sessions`,
			widths, buckets, types, parts, users, sessions)
		return err
	})
}

// pruneUniquesSQL deletes, in a retention chunk's transaction, the
// sketches of the minutes ($1, $2: the types and buckets of minute
// rollups the chunk left at zero) and of their hours and days that have
// no event of their type left: a minute by the minute rollups, an hour or
// a day by the hour rollups within it. A sketch cannot take an id off, so
// a bucket that keeps some of its events keeps its sketch whole until its
// last event goes.
const pruneUniquesSQL = `WITH m AS (
	SELECT DISTINCT event_type, bucket FROM unnest($1::text[], $2::int8[]) AS k(event_type, bucket)
), k AS (
	SELECT DISTINCT m.event_type, w.width, m.bucket - ((m.bucket % w.width) + w.width) % w.width AS bucket
	FROM m, (VALUES (60::int8), (3600::int8), (86400::int8)) w(width)
)
DELETE FROM uniques u USING k
WHERE u.width = k.width AND u.bucket = k.bucket AND u.event_type = k.event_type
	AND NOT EXISTS (SELECT 1 FROM rollups r WHERE r.width = CASE WHEN k.width = 60 THEN 60 ELSE 3600 END
		AND r.dim = '' AND r.event_type = k.event_type AND r.bucket >= k.bucket AND r.bucket < k.bucket + k.width
		AND r.events > 0)`

// UniqueSketches reads the sketches of q through the primary key.
func (d *DB) UniqueSketches(ctx context.Context, q store.UniqueQuery, fn func(store.UniqueRow) error) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	types := make([]string, len(q.Types))
	for i, t := range q.Types {
		types[i] = clean(t)
	}
	rows, err := d.pool.Query(ctx, `SELECT bucket, event_type, users, sessions FROM uniques
		WHERE width = $1 AND bucket >= $2 AND bucket < $3 AND (cardinality($4::text[]) = 0 OR event_type = ANY($4))`,
		q.Width, q.From.Unix(), q.To.Unix(), types)
	if err != nil {
		return d.fail("uniques", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.UniqueRow
		if err := rows.Scan(&r.Bucket, &r.EventType, &r.Users, &r.Sessions); err != nil {
			return d.fail("uniques", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return d.fail("uniques", err)
	}
	return nil
}

var _ store.Uniques = (*DB)(nil)
