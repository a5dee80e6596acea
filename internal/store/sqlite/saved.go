package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/pulse-dev/pulse/internal/store"
)

const savedColumns = `id, name, kind, query, pinned, created_at, updated_at`

func scanSaved(row scanner) (store.SavedInsight, error) {
	var (
		s                store.SavedInsight
		created, updated int64
	)
	if err := row.Scan(&s.ID, &s.Name, &s.Kind, &s.Query, &s.Pinned, &created, &updated); err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return s, nil
}

// SaveInsight stores a new saved insight.
func (d *DB) SaveInsight(ctx context.Context, s store.SavedInsight) error {
	if err := d.writable(); err != nil {
		return err
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO saved_insights (`+savedColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Name, s.Kind, s.Query, s.Pinned, micros(s.CreatedAt), micros(s.UpdatedAt))
	if err != nil {
		return d.fail("save insight", err)
	}
	return nil
}

// SavedInsightList returns every saved insight, oldest first.
func (d *DB) SavedInsightList(ctx context.Context) ([]store.SavedInsight, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT `+savedColumns+` FROM saved_insights ORDER BY created_at, id`)
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
	if err := d.writable(); err != nil {
		return store.SavedInsight{}, err
	}
	s, err := scanSaved(d.w.QueryRowContext(ctx, `UPDATE saved_insights
		SET name = coalesce(?, name), query = coalesce(?, query), pinned = coalesce(?, pinned), updated_at = ?
		WHERE id = ? RETURNING `+savedColumns, c.Name, c.Query, c.Pinned, micros(c.At), id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.SavedInsight{}, store.ErrNotFound
	}
	if err != nil {
		return store.SavedInsight{}, d.fail("update insight", err)
	}
	return s, nil
}

// DeleteInsight deletes one saved insight.
func (d *DB) DeleteInsight(ctx context.Context, id string) error {
	if err := d.writable(); err != nil {
		return err
	}
	res, err := d.w.ExecContext(ctx, `DELETE FROM saved_insights WHERE id = ?`, id)
	if err != nil {
		return d.fail("delete insight", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return store.ErrNotFound
	}
	return nil
}

var _ store.SavedInsights = (*DB)(nil)
