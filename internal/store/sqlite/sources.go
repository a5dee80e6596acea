package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// CreateSource stores a new source.
func (d *DB) CreateSource(ctx context.Context, s store.Source) error {
	if err := d.writable(); err != nil {
		return err
	}
	origins, settings, err := sourceJSON(s)
	if err != nil {
		return err
	}
	_, err = d.w.ExecContext(ctx, `INSERT INTO sources (id, name, write_key, origins, settings, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.ID, s.Name, s.WriteKey, origins, settings, micros(s.CreatedAt), nullMicros(s.RevokedAt))
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return store.ErrSourceExists
	}
	if err != nil {
		return d.fail("create source", err)
	}
	return nil
}

func sourceJSON(s store.Source) (origins, settings string, err error) {
	o := s.Origins
	if o == nil {
		o = []string{}
	}
	ob, err := json.Marshal(o)
	if err != nil {
		return "", "", fmt.Errorf("source origins: %w", err)
	}
	sb, err := json.Marshal(s.Settings)
	if err != nil {
		return "", "", fmt.Errorf("source settings: %w", err)
	}
	return string(ob), string(sb), nil
}

const sourceColumns = `id, name, write_key, origins, settings, created_at, revoked_at`

func scanSource(row scanner) (store.Source, error) {
	var (
		s                 store.Source
		origins, settings string
		created           int64
		revoked           sql.NullInt64
	)
	if err := row.Scan(&s.ID, &s.Name, &s.WriteKey, &origins, &settings, &created, &revoked); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(origins), &s.Origins); err != nil {
		return s, fmt.Errorf("source %s: origins: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(settings), &s.Settings); err != nil {
		return s, fmt.Errorf("source %s: settings: %w", s.ID, err)
	}
	s.CreatedAt = fromMicros(created)
	s.RevokedAt = fromNullMicros(revoked)
	return s, nil
}

// Sources returns every source, oldest first.
func (d *DB) Sources(ctx context.Context) ([]store.Source, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT `+sourceColumns+` FROM sources ORDER BY created_at, id`)
	if err != nil {
		return nil, d.fail("sources", err)
	}
	defer rows.Close()
	var out []store.Source
	for rows.Next() {
		s, err := scanSource(rows)
		if err != nil {
			return nil, d.fail("sources", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("sources", err)
	}
	return out, nil
}

// RevokeSource marks a source revoked, once.
func (d *DB) RevokeSource(ctx context.Context, id string, at time.Time) (store.Source, error) {
	if err := d.writable(); err != nil {
		return store.Source{}, err
	}
	s, err := scanSource(d.w.QueryRowContext(ctx, `UPDATE sources SET revoked_at = coalesce(revoked_at, ?)
		WHERE id = ? RETURNING `+sourceColumns, micros(at), id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Source{}, store.ErrNotFound
	}
	if err != nil {
		return store.Source{}, d.fail("revoke source", err)
	}
	return s, nil
}

// UpdateSource replaces a source's origins and settings.
func (d *DB) UpdateSource(ctx context.Context, id string, origins []string, settings store.SourceSettings) (store.Source, error) {
	if err := d.writable(); err != nil {
		return store.Source{}, err
	}
	ob, sb, err := sourceJSON(store.Source{Origins: origins, Settings: settings})
	if err != nil {
		return store.Source{}, err
	}
	s, err := scanSource(d.w.QueryRowContext(ctx, `UPDATE sources SET origins = ?, settings = ?
		WHERE id = ? RETURNING `+sourceColumns, ob, sb, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Source{}, store.ErrNotFound
	}
	if err != nil {
		return store.Source{}, d.fail("update source", err)
	}
	return s, nil
}

var _ store.Sources = (*DB)(nil)
