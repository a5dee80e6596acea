package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// PlanEntries returns the tracking plan, by event type.
func (d *DB) PlanEntries(ctx context.Context) ([]store.PlanEntry, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT event_type, description, schema, updated_at FROM tracking_plan ORDER BY event_type`)
	if err != nil {
		return nil, d.fail("plan", err)
	}
	defer rows.Close()
	var out []store.PlanEntry
	for rows.Next() {
		var (
			e      store.PlanEntry
			schema string
			at     int64
		)
		if err := rows.Scan(&e.EventType, &e.Description, &schema, &at); err != nil {
			return nil, d.fail("plan", err)
		}
		e.Schema, e.UpdatedAt = []byte(schema), fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("plan", err)
	}
	return out, nil
}

const putPlanSQL = `INSERT INTO tracking_plan (event_type, description, schema, updated_at) VALUES (?, ?, ?, ?)
	ON CONFLICT (event_type) DO UPDATE SET description = excluded.description, schema = excluded.schema, updated_at = excluded.updated_at`

// PutPlanEntry adds or replaces one event type's entry.
func (d *DB) PutPlanEntry(ctx context.Context, e store.PlanEntry) error {
	if err := d.writable(); err != nil {
		return err
	}
	if _, err := d.w.ExecContext(ctx, putPlanSQL, e.EventType, e.Description, string(e.Schema), micros(e.UpdatedAt)); err != nil {
		return d.fail("put plan entry", err)
	}
	return nil
}

// DeletePlanEntry removes an event type from the plan.
func (d *DB) DeletePlanEntry(ctx context.Context, eventType string) error {
	if err := d.writable(); err != nil {
		return err
	}
	res, err := d.w.ExecContext(ctx, `DELETE FROM tracking_plan WHERE event_type = ?`, eventType)
	if err != nil {
		return d.fail("delete plan entry", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ReplacePlan makes entries the whole plan.
func (d *DB) ReplacePlan(ctx context.Context, entries []store.PlanEntry) error {
	if err := d.writable(); err != nil {
		return err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail("replace plan", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM tracking_plan`); err != nil {
		return d.fail("replace plan", err)
	}
	for _, e := range entries {
		if _, err := tx.ExecContext(ctx, putPlanSQL, e.EventType, e.Description, string(e.Schema), micros(e.UpdatedAt)); err != nil {
			return d.fail("replace plan", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return d.fail("replace plan", err)
	}
	return nil
}

// AddPlanWarnings adds counts to the warnings in one transaction.
func (d *DB) AddPlanWarnings(ctx context.Context, ws []store.PlanWarning) error {
	if len(ws) == 0 {
		return nil
	}
	if err := d.writable(); err != nil {
		return err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail("add plan warnings", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, w := range ws {
		if w.Problem == store.ProblemUnknownType {
			if w.EventType, err = unknownTypeRow(ctx, tx, w.SourceID, w.EventType); err != nil {
				return d.fail("add plan warnings", err)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO plan_warnings (source_id, event_type, problem, field, reason, warned, rejected, example, first_at, last_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (source_id, event_type, problem) DO UPDATE SET
				warned = warned + excluded.warned, rejected = rejected + excluded.rejected,
				field = excluded.field, reason = excluded.reason, example = excluded.example,
				first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)`,
			w.SourceID, w.EventType, w.Problem, w.Field, w.Reason, w.Warned, w.Rejected, string(w.Example), micros(w.FirstAt), micros(w.LastAt))
		if err != nil {
			return d.fail("add plan warnings", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return d.fail("add plan warnings", err)
	}
	return nil
}

// unknownTypeRow returns the event type an unknown type's warning is
// counted under: its own while the source has fewer than
// store.MaxUnknownTypes of them, else store.OtherEventTypes. The count
// stops at the bound, so it costs the same however many arrive.
func unknownTypeRow(ctx context.Context, tx *sql.Tx, sourceID, eventType string) (string, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM plan_warnings WHERE source_id = ? AND event_type = ? AND problem = ?`,
		sourceID, eventType, store.ProblemUnknownType).Scan(&one)
	if err == nil {
		return eventType, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM plan_warnings WHERE source_id = ? AND problem = ? LIMIT ?)`,
		sourceID, store.ProblemUnknownType, store.MaxUnknownTypes).Scan(&n); err != nil {
		return "", err
	}
	if n >= store.MaxUnknownTypes {
		return store.OtherEventTypes, nil
	}
	return eventType, nil
}

// PlanWarnings returns the warnings seen since since, latest first.
func (d *DB) PlanWarnings(ctx context.Context, sourceID string, since time.Time, limit int) ([]store.PlanWarning, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT source_id, event_type, problem, field, reason, warned, rejected, example, first_at, last_at
		FROM plan_warnings WHERE last_at >= ?1 AND (?2 = '' OR source_id = ?2)
		ORDER BY last_at DESC, source_id, event_type, problem LIMIT ?3`, micros(since), sourceID, limit)
	if err != nil {
		return nil, d.fail("plan warnings", err)
	}
	defer rows.Close()
	var out []store.PlanWarning
	for rows.Next() {
		var (
			w           store.PlanWarning
			example     string
			first, last int64
		)
		if err := rows.Scan(&w.SourceID, &w.EventType, &w.Problem, &w.Field, &w.Reason, &w.Warned, &w.Rejected, &example, &first, &last); err != nil {
			return nil, d.fail("plan warnings", err)
		}
		w.Example, w.FirstAt, w.LastAt = []byte(example), fromMicros(first), fromMicros(last)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("plan warnings", err)
	}
	return out, nil
}

var _ store.Plan = (*DB)(nil)
