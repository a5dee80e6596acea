package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// ErrCorrupt is wrapped by every error of a store whose file is damaged.
var ErrCorrupt = errors.New("database file is corrupt")

// checkIntegrity runs SQLite's quick_check over the whole file in the
// background, so that a damaged file is found even where no query has
// read yet, without making start-up wait for a scan of every page.
func (d *DB) checkIntegrity(ctx context.Context, conn *sql.DB) {
	start := time.Now()
	rows, err := conn.QueryContext(ctx, "PRAGMA quick_check(10)")
	if err != nil {
		if ctx.Err() == nil {
			d.noteCorrupt(err)
		}
		return
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			d.noteCorrupt(err)
			return
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		if ctx.Err() == nil {
			d.noteCorrupt(err)
		}
		return
	}
	if len(problems) > 0 {
		d.markCorrupt(fmt.Errorf("quick_check: %s", strings.Join(problems, "; ")))
		return
	}
	d.log.Info("store integrity checked", "path", d.path, "took", time.Since(start).Round(time.Millisecond))
}

// noteCorrupt marks the store corrupt when err is SQLite saying the file
// is damaged or not a database at all, and reports whether it was.
func (d *DB) noteCorrupt(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB) {
		d.markCorrupt(err)
		return true
	}
	return false
}

func (d *DB) markCorrupt(cause error) {
	err := fmt.Errorf("%w: %s (%v); stop Pulse and restore the file from a backup, or move it aside to start an empty store, then let the consumers store again what Kafka still holds", ErrCorrupt, d.path, cause)
	if d.corrupt.CompareAndSwap(nil, &err) {
		d.log.Error("store is corrupt: writes refused, health unhealthy", "path", d.path, "err", cause)
	}
}

// corruption returns the error a damaged file gives every call, or nil.
func (d *DB) corruption() error {
	if p := d.corrupt.Load(); p != nil {
		return *p
	}
	return nil
}
