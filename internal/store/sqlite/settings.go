package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// Setting returns the value stored under key.
func (d *DB) Setting(ctx context.Context, key string) (string, bool, error) {
	if err := d.usable(); err != nil {
		return "", false, err
	}
	var v string
	err := d.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, d.fail("read setting", err)
	}
	return v, true, nil
}

// PutSetting stores value under key.
func (d *DB) PutSetting(ctx context.Context, key, value string) error {
	if err := d.writable(); err != nil {
		return err
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return d.fail("store setting", err)
	}
	return nil
}

// InitSetting stores value under key unless one is there, and returns the
// stored value.
func (d *DB) InitSetting(ctx context.Context, key, value string) (string, error) {
	if err := d.writable(); err != nil {
		return "", err
	}
	var v string
	// The no-op update makes RETURNING answer when the row exists.
	err := d.w.QueryRowContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = value RETURNING value`, key, value).Scan(&v)
	if err != nil {
		return "", d.fail("init setting", err)
	}
	return v, nil
}
