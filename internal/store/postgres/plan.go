package postgres

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// PlanEntries returns the tracking plan, by event type.
func (d *DB) PlanEntries(ctx context.Context) ([]store.PlanEntry, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, _ := d.pool.Query(ctx, `SELECT event_type, description, schema, updated_at FROM tracking_plan ORDER BY event_type`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.PlanEntry, error) {
		var (
			e      store.PlanEntry
			schema string
		)
		err := r.Scan(&e.EventType, &e.Description, &schema, &e.UpdatedAt)
		e.Schema, e.UpdatedAt = []byte(schema), e.UpdatedAt.UTC()
		return e, err
	})
	if err != nil {
		return nil, d.fail("plan", err)
	}
	return out, nil
}

const putPlanSQL = `INSERT INTO tracking_plan (event_type, description, schema, updated_at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (event_type) DO UPDATE SET description = excluded.description, schema = excluded.schema, updated_at = excluded.updated_at`

// PutPlanEntry adds or replaces one event type's entry.
func (d *DB) PutPlanEntry(ctx context.Context, e store.PlanEntry) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	if _, err := d.pool.Exec(ctx, putPlanSQL, clean(e.EventType), clean(e.Description), clean(string(e.Schema)), e.UpdatedAt); err != nil {
		return d.fail("put plan entry", err)
	}
	return nil
}

// DeletePlanEntry removes an event type from the plan.
func (d *DB) DeletePlanEntry(ctx context.Context, eventType string) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM tracking_plan WHERE event_type = $1`, clean(eventType))
	if err != nil {
		return d.fail("delete plan entry", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ReplacePlan makes entries the whole plan.
func (d *DB) ReplacePlan(ctx context.Context, entries []store.PlanEntry) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// One replace at a time: two would each delete, then both insert.
		if _, err := tx.Exec(ctx, `LOCK TABLE tracking_plan IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tracking_plan`); err != nil {
			return err
		}
		for _, e := range entries {
			if _, err := tx.Exec(ctx, putPlanSQL, clean(e.EventType), clean(e.Description), clean(string(e.Schema)), e.UpdatedAt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return d.fail("replace plan", err)
	}
	return nil
}

// AddPlanWarnings adds counts to the warnings in one transaction, rows
// in key order so that two servers adding at once do not deadlock. The
// bound on a source's unknown types is read in the transaction: servers
// adding new types at the same moment may pass it by a few rows.
func (d *DB) AddPlanWarnings(ctx context.Context, ws []store.PlanWarning) error {
	if len(ws) == 0 {
		return nil
	}
	if d.closed.Load() {
		return store.ErrClosed
	}
	ws = append([]store.PlanWarning(nil), ws...)
	for i := range ws {
		ws[i].SourceID, ws[i].EventType = clean(ws[i].SourceID), clean(ws[i].EventType)
	}
	sort.Slice(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.SourceID != b.SourceID {
			return a.SourceID < b.SourceID
		}
		if a.EventType != b.EventType {
			return a.EventType < b.EventType
		}
		return a.Problem < b.Problem
	})
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		for _, w := range ws {
			if w.Problem == store.ProblemUnknownType {
				var err error
				if w.EventType, err = unknownTypeRow(ctx, tx, w.SourceID, w.EventType); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO plan_warnings (source_id, event_type, problem, field, reason, warned, rejected, example, first_at, last_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (source_id, event_type, problem) DO UPDATE SET
					warned = plan_warnings.warned + excluded.warned, rejected = plan_warnings.rejected + excluded.rejected,
					field = excluded.field, reason = excluded.reason, example = excluded.example,
					first_at = least(plan_warnings.first_at, excluded.first_at), last_at = greatest(plan_warnings.last_at, excluded.last_at)`,
				w.SourceID, w.EventType, clean(w.Problem), clean(w.Field), clean(w.Reason), w.Warned, w.Rejected,
				clean(string(w.Example)), w.FirstAt, w.LastAt)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return d.fail("add plan warnings", err)
	}
	return nil
}

// unknownTypeRow returns the event type an unknown type's warning is
// counted under (see the sqlite store's).
func unknownTypeRow(ctx context.Context, tx pgx.Tx, sourceID, eventType string) (string, error) {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM plan_warnings WHERE source_id = $1 AND event_type = $2 AND problem = $3`,
		sourceID, eventType, store.ProblemUnknownType).Scan(&one)
	if err == nil {
		return eventType, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", err
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM plan_warnings WHERE source_id = $1 AND problem = $2 LIMIT $3) s`,
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
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, _ := d.pool.Query(ctx, `SELECT source_id, event_type, problem, field, reason, warned, rejected, example, first_at, last_at
		FROM plan_warnings WHERE last_at >= $1 AND ($2 = '' OR source_id = $2)
		ORDER BY last_at DESC, source_id, event_type, problem LIMIT $3`, since, clean(sourceID), limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.PlanWarning, error) {
		var (
			w       store.PlanWarning
			example string
		)
		err := r.Scan(&w.SourceID, &w.EventType, &w.Problem, &w.Field, &w.Reason, &w.Warned, &w.Rejected, &example, &w.FirstAt, &w.LastAt)
		w.Example, w.FirstAt, w.LastAt = []byte(example), w.FirstAt.UTC(), w.LastAt.UTC()
		return w, err
	})
	if err != nil {
		return nil, d.fail("plan warnings", err)
	}
	return out, nil
}

var _ store.Plan = (*DB)(nil)
