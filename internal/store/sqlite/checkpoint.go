package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Checkpoints run on their own connection, not on the writer. SQLite's
// automatic checkpoint runs inside the commit that crosses its threshold,
// so the one writer stood still for the whole copy and its fsyncs. Here
// PASSIVE checkpoints copy the WAL into the database beside the writer,
// which keeps committing. A passive checkpoint cannot rewind a WAL that
// is written to all the time, though, so once the WAL is longer than
// walRestartFrames the checkpointer takes the writer's turn for a RESTART
// checkpoint: by then the passive ones have copied nearly everything, so
// the pause is short, and the next write starts the WAL over.
//
// Durability is unchanged: a commit is in the WAL either way, and
// synchronous=NORMAL syncs at checkpoints.
const (
	// checkpointEvery is how often the checkpointer looks at the WAL.
	checkpointEvery = 100 * time.Millisecond
	// walRestartFrames bounds the WAL: 65,536 frames, 256 MiB at 4 KiB
	// pages (journal_size_limit truncates it back to 64 MiB when it starts
	// over). Each restart pauses the writer for 40-60 ms here; at a quarter
	// of this bound they cost the drain of a 200k-row database 14%.
	walRestartFrames = 65536
	// checkpointBusy is the checkpointer's busy timeout.
	checkpointBusy = 250 * time.Millisecond
)

// checkpointLoop runs until ctx ends.
func (d *DB) checkpointLoop(ctx context.Context, conn *sql.DB) {
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		frames, err := d.checkpoint(ctx, conn, "PASSIVE")
		if err == nil && frames > walRestartFrames {
			err = d.restart(ctx, conn)
		}
		if err != nil && ctx.Err() == nil && !busy(err) {
			d.log.Warn("wal checkpoint failed", "err", err)
		}
	}
}

// restart checkpoints the rest of the WAL while holding the writer's turn,
// so that the WAL starts over at the next write.
func (d *DB) restart(ctx context.Context, conn *sql.DB) error {
	select {
	case d.writing <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	defer func() { <-d.writing }()
	_, err := d.checkpoint(ctx, conn, "RESTART")
	return err
}

// checkpoint runs one checkpoint and returns the WAL's length in frames.
func (d *DB) checkpoint(ctx context.Context, conn *sql.DB, mode string) (int64, error) {
	var busy, logFrames, done int64
	err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &done)
	return logFrames, err
}

// busy reports whether err says another connection (in this or another
// process sharing the file) holds what the checkpoint needs; the next
// round tries again.
func busy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}
