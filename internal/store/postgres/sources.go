package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pulse-dev/pulse/internal/store"
)

// CreateSource stores a new source.
func (d *DB) CreateSource(ctx context.Context, s store.Source) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	origins := s.Origins
	if origins == nil {
		origins = []string{}
	}
	ob, err := json.Marshal(origins)
	if err != nil {
		return fmt.Errorf("source origins: %w", err)
	}
	sb, err := json.Marshal(s.Settings)
	if err != nil {
		return fmt.Errorf("source settings: %w", err)
	}
	_, err = d.pool.Exec(ctx, `INSERT INTO sources (id, name, write_key, origins, settings, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.ID, clean(s.Name), s.WriteKey, string(ob), string(sb), s.CreatedAt, s.RevokedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return store.ErrSourceExists
	}
	if err != nil {
		return d.fail("create source", err)
	}
	return nil
}

const sourceColumns = `id, name, write_key, origins, settings, created_at, revoked_at`

func scanSource(row pgx.Row) (store.Source, error) {
	var (
		s                 store.Source
		origins, settings []byte
	)
	if err := row.Scan(&s.ID, &s.Name, &s.WriteKey, &origins, &settings, &s.CreatedAt, &s.RevokedAt); err != nil {
		return s, err
	}
	if err := json.Unmarshal(origins, &s.Origins); err != nil {
		return s, fmt.Errorf("source %s: origins: %w", s.ID, err)
	}
	if err := json.Unmarshal(settings, &s.Settings); err != nil {
		return s, fmt.Errorf("source %s: settings: %w", s.ID, err)
	}
	s.CreatedAt = s.CreatedAt.UTC()
	if s.RevokedAt != nil {
		t := s.RevokedAt.UTC()
		s.RevokedAt = &t
	}
	return s, nil
}

// Sources returns every source, oldest first.
func (d *DB) Sources(ctx context.Context) ([]store.Source, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT `+sourceColumns+` FROM sources ORDER BY created_at, id`)
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
	if d.closed.Load() {
		return store.Source{}, store.ErrClosed
	}
	s, err := scanSource(d.pool.QueryRow(ctx, `UPDATE sources SET revoked_at = coalesce(revoked_at, $1)
		WHERE id = $2 RETURNING `+sourceColumns, at, clean(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Source{}, store.ErrNotFound
	}
	if err != nil {
		return store.Source{}, d.fail("revoke source", err)
	}
	return s, nil
}

// UpdateSource replaces a source's origins and settings.
func (d *DB) UpdateSource(ctx context.Context, id string, origins []string, settings store.SourceSettings) (store.Source, error) {
	if d.closed.Load() {
		return store.Source{}, store.ErrClosed
	}
	if origins == nil {
		origins = []string{}
	}
	ob, err := json.Marshal(origins)
	if err != nil {
		return store.Source{}, fmt.Errorf("source origins: %w", err)
	}
	sb, err := json.Marshal(settings)
	if err != nil {
		return store.Source{}, fmt.Errorf("source settings: %w", err)
	}
	s, err := scanSource(d.pool.QueryRow(ctx, `UPDATE sources SET origins = $1, settings = $2
		WHERE id = $3 RETURNING `+sourceColumns, string(ob), string(sb), clean(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Source{}, store.ErrNotFound
	}
	if err != nil {
		return store.Source{}, d.fail("update source", err)
	}
	return s, nil
}

var _ store.Sources = (*DB)(nil)
