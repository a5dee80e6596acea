package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

const savedColumns = `id, name, kind, query, pinned, created_at, updated_at`

func scanSaved(row pgx.Row) (store.SavedInsight, error) {
	var s store.SavedInsight
	if err := row.Scan(&s.ID, &s.Name, &s.Kind, &s.Query, &s.Pinned, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, nil
}

// SaveInsight stores a new saved insight.
func (d *DB) SaveInsight(ctx context.Context, s store.SavedInsight) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO saved_insights (`+savedColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		clean(s.ID), clean(s.Name), clean(s.Kind), clean(s.Query), s.Pinned, s.CreatedAt, s.UpdatedAt)
	if err != nil {
		return d.fail("save insight", err)
	}
	return nil
}

// SavedInsightList returns every saved insight, oldest first.
func (d *DB) SavedInsightList(ctx context.Context) ([]store.SavedInsight, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT `+savedColumns+` FROM saved_insights ORDER BY created_at, id`)
	if err != nil {
		return nil, d.fail("saved insights", err)
	}
	defer rows.Close()
	out := []store.SavedInsight{}
	for rows.Next() {
		s, err := scanSaved(rows)
		if err != nil {
			return nil, d.fail("saved insights", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("saved insights", err)
	}
	return out, nil
}

// UpdateInsight applies c to one saved insight.
func (d *DB) UpdateInsight(ctx context.Context, id string, c store.InsightChange) (store.SavedInsight, error) {
	if d.closed.Load() {
		return store.SavedInsight{}, store.ErrClosed
	}
	var name, query *string
	if c.Name != nil {
		n := clean(*c.Name)
		name = &n
	}
	if c.Query != nil {
		q := clean(*c.Query)
		query = &q
	}
	s, err := scanSaved(d.pool.QueryRow(ctx, `UPDATE saved_insights
		SET name = coalesce($1, name), query = coalesce($2, query), pinned = coalesce($3, pinned), updated_at = $4
		WHERE id = $5 RETURNING `+savedColumns, name, query, c.Pinned, c.At, clean(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SavedInsight{}, store.ErrNotFound
	}
	if err != nil {
		return store.SavedInsight{}, d.fail("update insight", err)
	}
	return s, nil
}

// DeleteInsight deletes one saved insight.
func (d *DB) DeleteInsight(ctx context.Context, id string) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM saved_insights WHERE id = $1`, clean(id))
	if err != nil {
		return d.fail("delete insight", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

var _ store.SavedInsights = (*DB)(nil)
