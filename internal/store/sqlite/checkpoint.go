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
// which keeps committing. A checkpoint racing a writer that never pauses
// never catches up, though, and SQLite only starts the WAL over after one
// that did; so once the WAL is longer than walRestartFrames, the
// checkpointer takes the writer's turn for one more PASSIVE checkpoint,
// after passes beside the writer have left it only the last few frames:
// the pause is those frames and an fsync, and the next write starts the
// WAL over. PASSIVE never waits for readers: one that still needs old
// frames leaves the checkpoint short, and it is tried again a little
// later. (A RESTART checkpoint would wait for such readers while holding
// the writer: 300 ms stalls at 5,000 events/s with 1,000 dashboards.)
//
// A checkpoint copies each page the WAL holds once, however many commits
// rewrote it, and ends with an fsync; so checkpoints run after a number
// of records rather than every tick. At 25,000 events/s a 100 ms cadence
// kept a third of a core busy copying the same index pages over and
// over (checkpointer busy 290-350 ms a second); checkpointing about
// once a second, 120-140 ms.
//
// Durability is unchanged: a commit is in the WAL either way, and
// synchronous=NORMAL syncs at checkpoints.
const (
	// checkpointTick is how often the checkpointer looks at the counters.
	checkpointTick = 100 * time.Millisecond
	// checkpointRecords written since the last checkpoint start the next
	// one...
	checkpointRecords = 20000
	// ...or checkpointIdle after it, if anything was written at all.
	checkpointIdle = time.Second
	// walRestartFrames bounds the WAL: 65,536 frames, 256 MiB at 4 KiB
	// pages (journal_size_limit truncates it back to 64 MiB when it starts
	// over). At a quarter of this bound the restarts cost the drain of a
	// 200k-row database 14%.
	walRestartFrames = 65536
	// catchUpFrames: the checkpointer takes the writer's turn once a pass
	// beside the writer found at most this many new frames to copy, or
	// after catchUpPasses passes if the writer outruns them.
	catchUpFrames = 2048
	catchUpPasses = 8
	// checkpointBusy is the checkpointer's busy timeout, for the locks a
	// checkpoint takes (another process's checkpoint, a writer's).
	checkpointBusy = 250 * time.Millisecond
	// restartBackoff: after a checkpoint in the writer's turn that a
	// reader kept short (a long export holds its snapshot), the next waits
	// this long, so a long reader costs the writer one short pause, not
	// one every round. The WAL grows meanwhile, as WAL mode must while a
	// reader needs it.
	restartBackoff = time.Second
)

// checkpointLoop runs until ctx ends.
func (d *DB) checkpointLoop(ctx context.Context, conn *sql.DB) {
	t := time.NewTicker(checkpointTick)
	defer t.Stop()
	var last int64 // records written when the last checkpoint started
	var lastAt, nextRestart time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w := d.written.Load()
		if w == last || w-last < checkpointRecords && time.Since(lastAt) < checkpointIdle {
			continue
		}
		last, lastAt = w, time.Now()
		frames, _, err := d.checkpoint(ctx, conn, "PASSIVE")
		if err == nil && frames > walRestartFrames && time.Now().After(nextRestart) {
			var done bool
			if done, err = d.restart(ctx, conn, frames); !done {
				nextRestart = time.Now().Add(restartBackoff)
			}
		}
		if err != nil && ctx.Err() == nil && !busy(err) {
			d.log.Warn("wal checkpoint failed", "err", err)
		}
	}
}

// restart checkpoints the rest of the WAL, frames long at the last pass,
// while holding the writer's turn, so that the WAL starts over at the next
// write. Passes beside the writer first copy what it added meanwhile;
// each is shorter than the one before while checkpoints outrun the
// writer. It reports whether the whole WAL was checkpointed (no reader
// needed old frames).
func (d *DB) restart(ctx context.Context, conn *sql.DB, frames int64) (bool, error) {
	for range catchUpPasses {
		log, _, err := d.checkpoint(ctx, conn, "PASSIVE")
		if err != nil {
			return false, err
		}
		grew := log - frames
		frames = log
		if grew <= catchUpFrames {
			break
		}
	}
	select {
	case d.writing <- struct{}{}:
	case <-ctx.Done():
		return false, nil
	}
	defer func() { <-d.writing }()
	_, done, err := d.checkpoint(ctx, conn, "PASSIVE")
	return done && err == nil, err
}

// checkpoint runs one checkpoint and returns the WAL's length in frames
// and whether it checkpointed all of it.
func (d *DB) checkpoint(ctx context.Context, conn *sql.DB, mode string) (frames int64, complete bool, err error) {
	var blocked, logFrames, done int64
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&blocked, &logFrames, &done)
	return logFrames, err == nil && blocked == 0 && done == logFrames, err
}

// busy reports whether err says another connection (in this or another
// process sharing the file) holds what the checkpoint needs; the next
// round tries again.
func busy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}
