// Package postgres is the PostgreSQL implementation of store.Store, on a
// pgx connection pool. A batch is written as two set-based statements
// pipelined in one round trip, in one implicit transaction.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/pulse-dev/pulse/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// deleteChunk bounds the rows one retention statement deletes, so that a
// large clean-up never holds locks or bloats one transaction for long.
const deleteChunk = 5000

// Options tune the connection. The zero value is ready to use.
type Options struct {
	// Schema, when set, is created if missing and put first on every
	// connection's search_path, so Pulse's tables live there.
	Schema string
	// MaxConns caps the pool (0: pgxpool's default, max(4, CPUs)).
	MaxConns int32
}

// schemaPattern keeps schema names to plain identifiers.
var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// DB is a Pulse database on PostgreSQL. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	url  string // redacted, for messages
	log  *slog.Logger

	closed    atomic.Bool
	closeOnce sync.Once
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at rawURL (a postgres:// URL or a
// key=value connection string), and applies pending migrations.
func Open(ctx context.Context, rawURL string, opts Options, log *slog.Logger) (*DB, error) {
	safe := Redact(rawURL)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store", "backend", "postgres")
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("open store %s: %w", safe, err)
	}
	if opts.Schema != "" {
		if !schemaPattern.MatchString(opts.Schema) {
			return nil, fmt.Errorf("open store %s: schema %q must be a lower-case identifier", safe, opts.Schema)
		}
		// Sent in the start-up packet, so it costs no round trip and holds
		// for every connection the pool ever opens.
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", safe, err)
	}
	d := &DB{pool: pool, url: safe, log: log}
	if err := d.prepare(ctx, opts.Schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store %s: %w", safe, err)
	}
	log.Info("store opened", "url", safe, "schema", opts.Schema, "max_conns", cfg.MaxConns)
	return d, nil
}

// prepare checks the connection, creates the schema and migrates.
func (d *DB) prepare(ctx context.Context, schema string) error {
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if schema != "" {
		// Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE
		// privilege even when the schema is already there.
		var exists bool
		if err := d.pool.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
			return fmt.Errorf("schema %s: %w", schema, err)
		}
		if !exists {
			if _, err := d.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
				return fmt.Errorf("create schema %s: %w", schema, err)
			}
		}
	}
	_, err := d.migrate(ctx)
	return err
}

// migrate applies the pending migrations and returns how many it applied.
func (d *DB) migrate(ctx context.Context) (int, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	// An advisory lock keeps several Pulse processes starting at once from
	// migrating the same database together.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(d.pool)
	defer db.Close() // leaves the pool open
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker), goose.WithSlog(d.log),
		goose.WithGoMigrations(uniquesMigration()))
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		d.log.Info("migration applied", "migration", r.Source.Path, "duration", r.Duration)
	}
	return len(res), nil
}

// Close closes the pool, waiting for connections in use to come back. It
// is safe to call more than once.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		d.pool.Close()
	})
	return nil
}

// fail wraps err with what was being done, or returns store.ErrClosed when
// the error came from a store closed underneath the call.
func (d *DB) fail(what string, err error) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	if err := d.pool.Ping(ctx); err != nil {
		return d.fail("ping store "+d.url, err)
	}
	return nil
}

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// Redact returns a connection string with its password replaced, fit for
// logs and error messages.
func Redact(conn string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(conn, "${1}xxxxx")
}
