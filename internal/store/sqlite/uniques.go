package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/pulse-dev/pulse/internal/store"
)

// uniquesVersion is the migration that adds the sketches (a Go migration:
// it fills them from the events already stored, which SQL cannot).
const uniquesVersion = 14

const createUniquesSQL = `CREATE TABLE uniques (
    width       INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    event_type  TEXT    NOT NULL,
    "partition" INTEGER NOT NULL,
    users       BLOB    NOT NULL,
    sessions    BLOB    NOT NULL,
    PRIMARY KEY (width, bucket, event_type, "partition")
) WITHOUT ROWID`

const getUniqueSQL = `SELECT users, sessions FROM uniques WHERE width = ? AND bucket = ? AND event_type = ? AND "partition" = ?`

const putUniqueSQL = `INSERT INTO uniques (width, bucket, event_type, "partition", users, sessions) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (width, bucket, event_type, "partition") DO UPDATE SET users = excluded.users, sessions = excluded.sessions`

// uniquesMigration creates the sketches' table (store.Uniques) and fills
// it from the events already stored, type by type in time order through
// the events_type_time index, once, at the first start after the upgrade.
func uniquesMigration() *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, createUniquesSQL); err != nil {
			return err
		}
		put, err := tx.PrepareContext(ctx, putUniqueSQL)
		if err != nil {
			return err
		}
		defer put.Close()
		f := store.UniqueFiller{Write: func(k store.UniqueKey, s *store.Sketches) error {
			return putSketches(ctx, put, k, s, nil, nil)
		}}
		rows, err := tx.QueryContext(ctx, `SELECT event_type, timestamp, user_id, session_id
			FROM events INDEXED BY events_type_time ORDER BY event_type, timestamp`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				typ, user, sess string
				ts              int64
			)
			if err := rows.Scan(&typ, &ts, &user, &sess); err != nil {
				return err
			}
			if err := f.Add(onePartition, fromMicros(ts), typ, user, sess); err != nil {
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

// putSketches writes a key's sketches merged with what the row held.
func putSketches(ctx context.Context, put *sql.Stmt, k store.UniqueKey, s *store.Sketches, users, sessions []byte) error {
	u, ss, err := s.Merge(users, sessions)
	if err != nil {
		return err
	}
	_, err = put.ExecContext(ctx, k.Width, k.Bucket, k.EventType, k.Partition, u, ss)
	return err
}

// writeUniques adds a transaction's ids to the sketches: each key's row is
// read, merged and written back (one writer at a time: no other
// transaction can change the row in between).
func (d *DB) writeUniques(tx *sql.Tx, delta store.UniqueDelta) error {
	if len(delta) == 0 {
		return nil
	}
	get, put := tx.Stmt(d.getUnique), tx.Stmt(d.putUnique)
	ctx := context.Background()
	for _, k := range delta.Keys() {
		var users, sessions []byte
		err := get.QueryRowContext(ctx, k.Width, k.Bucket, k.EventType, k.Partition).Scan(&users, &sessions)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("uniques: %w", err)
		}
		if err := putSketches(ctx, put, k, delta[k], users, sessions); err != nil {
			return fmt.Errorf("uniques: %w", err)
		}
	}
	return nil
}

// pruneUniques deletes the sketches of the minutes, hours and days that
// retention left without an event of their type (the rollups know, in the
// same transaction). A sketch cannot take an id off, so a bucket that
// keeps some of its events keeps its sketch whole until its last event
// goes. minutes are the minutes and types of the deleted events.
func pruneUniques(tx *sql.Tx, minutes map[store.UniqueKey]bool) error {
	const gone = `DELETE FROM uniques WHERE width = ? AND bucket = ? AND event_type = ?
		AND NOT EXISTS (SELECT 1 FROM rollups WHERE width = ? AND dim = '' AND event_type = ?
			AND bucket >= ? AND bucket < ? AND events > 0)`
	keys := map[store.UniqueKey]bool{}
	for k := range minutes {
		for _, w := range store.UniqueWidths {
			keys[store.UniqueKey{Width: w, Bucket: store.RollupBucket(time.Unix(k.Bucket, 0), w), EventType: k.EventType}] = true
		}
	}
	for k := range keys {
		// A minute is read from the minute rollups; an hour or a day from
		// the hour rollups within it.
		width := store.RollupHour
		if k.Width == store.UniqueMinute {
			width = store.RollupMinute
		}
		if _, err := tx.Exec(gone, k.Width, k.Bucket, k.EventType, width, k.EventType, k.Bucket, k.Bucket+k.Width); err != nil {
			return fmt.Errorf("uniques: %w", err)
		}
	}
	return nil
}

// UniqueSketches reads the sketches of q through the primary key.
func (d *DB) UniqueSketches(ctx context.Context, q store.UniqueQuery, fn func(store.UniqueRow) error) error {
	if err := d.usable(); err != nil {
		return err
	}
	args := []any{q.Width, q.From.Unix(), q.To.Unix()}
	where := ""
	if len(q.Types) > 0 {
		where = ` AND event_type IN (?` + strings.Repeat(", ?", len(q.Types)-1) + `)`
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	rows, err := d.r.QueryContext(ctx, `SELECT bucket, event_type, users, sessions FROM uniques
		WHERE width = ? AND bucket >= ? AND bucket < ?`+where, args...)
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
