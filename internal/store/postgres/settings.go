package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// Setting returns the value stored under key.
func (d *DB) Setting(ctx context.Context, key string) (string, bool, error) {
	if d.closed.Load() {
		return "", false, store.ErrClosed
	}
	var v string
	err := d.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, clean(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, d.fail("read setting", err)
	}
	return v, true, nil
}

// PutSetting stores value under key.
func (d *DB) PutSetting(ctx context.Context, key, value string) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, clean(key), clean(value))
	if err != nil {
		return d.fail("store setting", err)
	}
	return nil
}

// InitSetting stores value under key unless one is there, and returns the
// stored value. Two processes starting at once agree: the loser's insert
// waits for the winner's row and then updates nothing but reads it.
func (d *DB) InitSetting(ctx context.Context, key, value string) (string, error) {
	if d.closed.Load() {
		return "", store.ErrClosed
	}
	var v string
	err := d.pool.QueryRow(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = settings.value RETURNING value`, clean(key), clean(value)).Scan(&v)
	if err != nil {
		return "", d.fail("init setting", err)
	}
	return v, nil
}
