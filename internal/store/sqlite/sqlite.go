// Package sqlite is the SQLite implementation of store.Store: one file in
// WAL mode, one writer connection and a pool of readers, so dashboard reads
// never queue behind a batch that is being written.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"

	"github.com/pulse-dev/pulse/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Defaults for Options fields left at zero.
const (
	DefaultCacheKB     = 64000
	DefaultBusyTimeout = 5 * time.Second
	DefaultReadConns   = 4
)

// deleteChunk bounds the rows one retention statement deletes, so that a
// large clean-up takes the write lock in short turns between batches.
const deleteChunk = 5000

// Options tune the database. The zero value is ready to use.
type Options struct {
	// CacheKB is the page cache of each connection in KiB (0: DefaultCacheKB).
	CacheKB int
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before failing (0: DefaultBusyTimeout).
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool (0: DefaultReadConns).
	ReadConns int
}

func (o Options) withDefaults() Options {
	if o.CacheKB <= 0 {
		o.CacheKB = DefaultCacheKB
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	if o.ReadConns <= 0 {
		o.ReadConns = DefaultReadConns
	}
	return o
}

// DB is a Pulse database in one SQLite file. It is safe for concurrent use.
type DB struct {
	path string
	log  *slog.Logger

	w *sql.DB // the one writer connection
	r *sql.DB // readers; query_only so a bug cannot write behind w's back
	c *sql.DB // the checkpointer's connection (checkpoint.go)

	// Group commit (write.go): batches queue under gmu; whoever holds the
	// writing token writes everything queued in one transaction.
	gmu     sync.Mutex
	queue   []*writeReq
	writing chan struct{}
	commits atomic.Int64 // write transactions committed
	written atomic.Int64 // records in them (the checkpointer's clock)

	stopCheckpoints context.CancelFunc
	checkpointsDone chan struct{}

	insEvent   *sql.Stmt
	insMessage *sql.Stmt
	// addEvents and addLatency add a batch's events to the series.
	addEvents  *sql.Stmt
	addLatency *sql.Stmt
	// addRollup adds to one row of the insights' rollups.
	addRollup *sql.Stmt
	// addActivity and addFirstSeen add to the activity and first seen.
	addActivity, addFirstSeen *sql.Stmt
	// getUnique and putUnique read and write a row of sketches.
	getUnique, putUnique *sql.Stmt

	// corrupt is set once the file is found damaged (integrity.go): from
	// then on writes are refused, so that no offset is committed past
	// events written into a broken file, and Ping reports it.
	corrupt       atomic.Pointer[error]
	stopIntegrity context.CancelFunc
	integrityDone chan struct{}

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database at path, with its parent
// directory, and applies pending migrations.
func Open(ctx context.Context, path string, opts Options, log *slog.Logger) (*DB, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	// The driver reads everything after the first '?' as parameters.
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open store %s: path must not contain '?'", path)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store", "backend", "sqlite")
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	common := "_busy_timeout=" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) +
		"&_cache_size=-" + strconv.Itoa(opts.CacheKB) +
		"&_synchronous=NORMAL&_foreign_keys=0"
	d := &DB{path: path, log: log, writing: make(chan struct{}, 1)}
	// _txlock=immediate takes the write lock at BEGIN, so a transaction never
	// fails half-way when upgrading from a read lock.
	d.w = sql.OpenDB(newConnector(path+"?"+common+"&_journal_mode=WAL&_txlock=immediate",
		"PRAGMA wal_autocheckpoint = 0"))
	d.w.SetMaxOpenConns(1)
	d.w.SetMaxIdleConns(1)
	d.w.SetConnMaxLifetime(0)
	d.w.SetConnMaxIdleTime(0)
	if err := d.setUp(ctx, path, log); err != nil {
		_ = d.w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	d.r = sql.OpenDB(newConnector(path + "?" + common + "&_query_only=1"))
	d.r.SetMaxOpenConns(opts.ReadConns)
	d.r.SetMaxIdleConns(opts.ReadConns)
	d.r.SetConnMaxIdleTime(5 * time.Minute)
	// The checkpointer's last pass holds the writer's turn; a lock another
	// process holds makes it give up quickly (and try again on its next
	// round) rather than stall the writer for a busy timeout.
	d.c = sql.OpenDB(newConnector(path + "?_busy_timeout=" + strconv.FormatInt(checkpointBusy.Milliseconds(), 10) +
		"&_cache_size=-1024&_synchronous=NORMAL"))
	d.c.SetMaxOpenConns(1)
	d.c.SetMaxIdleConns(1)
	d.c.SetConnMaxIdleTime(0)
	cctx, cancel := context.WithCancel(context.Background())
	d.stopCheckpoints, d.checkpointsDone = cancel, make(chan struct{})
	go func() {
		defer close(d.checkpointsDone)
		d.checkpointLoop(cctx, d.c)
	}()

	ictx, stop := context.WithCancel(context.Background())
	d.stopIntegrity, d.integrityDone = stop, make(chan struct{})
	go func() {
		defer close(d.integrityDone)
		d.checkIntegrity(ictx, d.r)
	}()

	var err error
	if d.insEvent, err = d.w.PrepareContext(ctx, insertEventSQL); err == nil {
		d.insMessage, err = d.w.PrepareContext(ctx, insertMessageSQL)
	}
	if err == nil {
		d.addEvents, err = d.w.PrepareContext(ctx, addEventsSQL)
	}
	if err == nil {
		d.addLatency, err = d.w.PrepareContext(ctx, addLatencySQL)
	}
	if err == nil {
		d.addRollup, err = d.w.PrepareContext(ctx, addRollupSQL)
	}
	if err == nil {
		d.addActivity, err = d.w.PrepareContext(ctx, addActivitySQL)
	}
	if err == nil {
		d.addFirstSeen, err = d.w.PrepareContext(ctx, addFirstSeenSQL)
	}
	if err == nil {
		d.getUnique, err = d.w.PrepareContext(ctx, getUniqueSQL)
	}
	if err == nil {
		d.putUnique, err = d.w.PrepareContext(ctx, putUniqueSQL)
	}
	if err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("open store %s: prepare: %w", path, err)
	}
	log.Info("store opened", "path", path, "cache_kb", opts.CacheKB, "read_conns", opts.ReadConns)
	return d, nil
}

// connector opens driver connections without registering a driver name
// globally, and sets what the DSN cannot.
type connector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
}

func newConnector(dsn string, extra ...string) connector {
	pragmas := append([]string{
		// Totals and retention sort and group; keep their scratch
		// space off the disk.
		"PRAGMA temp_store = MEMORY",
		// Readers that never pause can keep a checkpoint from
		// rewinding the WAL; this shrinks the file back once one does.
		"PRAGMA journal_size_limit = 67108864",
	}, extra...)
	return connector{
		dsn: dsn,
		drv: &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			for _, pragma := range pragmas {
				if _, err := c.Exec(pragma, nil); err != nil {
					return fmt.Errorf("%s: %w", pragma, err)
				}
			}
			return nil
		}},
	}
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// setUp connects the writer (which turns on WAL mode) and applies the
// pending migrations, holding a lock file beside the database: several
// processes opening a new file at once (`pulse consume` ×3) otherwise race
// to create the same tables, and switching to WAL needs the file to
// itself.
func (d *DB) setUp(ctx context.Context, path string, log *slog.Logger) error {
	unlock, err := lockFile(ctx, path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if err := d.w.PingContext(ctx); err != nil {
		return err
	}
	_, err = migrate(ctx, d.w, log)
	return err
}

// migrations is the provider of the store's migrations: the SQL files and
// the Go ones.
func migrations(db *sql.DB, opts ...goose.ProviderOption) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	opts = append(opts, goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(uniquesMigration()))
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// migrate applies the pending migrations and returns how many it applied.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) (int, error) {
	p, err := migrations(db, goose.WithSlog(log))
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		log.Info("migration applied", "migration", r.Source.Path, "duration", r.Duration)
	}
	return len(res), nil
}

// Close closes the database. It is safe to call more than once.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		if d.stopCheckpoints != nil {
			d.stopCheckpoints()
			<-d.checkpointsDone
		}
		if d.stopIntegrity != nil {
			d.stopIntegrity()
			<-d.integrityDone
		}
		var errs []error
		for _, s := range []*sql.Stmt{d.insEvent, d.insMessage, d.addEvents, d.addLatency, d.addRollup, d.addActivity, d.addFirstSeen, d.getUnique, d.putUnique} {
			if s != nil {
				errs = append(errs, s.Close())
			}
		}
		for _, db := range []*sql.DB{d.r, d.c} {
			if db != nil {
				errs = append(errs, db.Close())
			}
		}
		errs = append(errs, d.w.Close())
		if err := errors.Join(errs...); err != nil {
			d.closeErr = fmt.Errorf("close store %s: %w", d.path, err)
		}
	})
	return d.closeErr
}

// fail wraps err with what was being done, or returns store.ErrClosed when
// the error came from a store closed underneath the call.
func (d *DB) fail(what string, err error) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	if d.noteCorrupt(err) {
		// The error that says what to do, rather than SQLite's.
		return fmt.Errorf("%s: %w", what, d.corruption())
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Ping checks that the database answers a query.
func (d *DB) Ping(ctx context.Context) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	if err := d.corruption(); err != nil {
		return err
	}
	var one int
	if err := d.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return d.fail("ping store", err)
	}
	return nil
}
