package postgres

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pulse-dev/pulse/internal/store"
)

// AlertRules returns the rules, oldest first.
func (d *DB) AlertRules(ctx context.Context) ([]store.AlertRule, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT id, spec, created_at, updated_at FROM alert_rules ORDER BY created_at, id`)
	if err != nil {
		return nil, d.fail("alert rules", err)
	}
	defer rows.Close()
	out := []store.AlertRule{}
	for rows.Next() {
		var (
			r    store.AlertRule
			spec string
		)
		if err := rows.Scan(&r.ID, &spec, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, d.fail("alert rules", err)
		}
		r.Spec, r.CreatedAt, r.UpdatedAt = []byte(spec), r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("alert rules", err)
	}
	return out, nil
}

// CreateAlertRule stores a new rule.
func (d *DB) CreateAlertRule(ctx context.Context, r store.AlertRule) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO alert_rules (id, spec, created_at, updated_at) VALUES ($1, $2, $3, $4)`,
		clean(r.ID), clean(string(r.Spec)), r.CreatedAt, r.UpdatedAt)
	if err != nil {
		return d.fail("create alert rule", err)
	}
	return nil
}

// UpdateAlertRule replaces a rule's spec.
func (d *DB) UpdateAlertRule(ctx context.Context, id string, spec []byte, at time.Time) (store.AlertRule, error) {
	if d.closed.Load() {
		return store.AlertRule{}, store.ErrClosed
	}
	var (
		r      store.AlertRule
		stored string
	)
	err := d.pool.QueryRow(ctx, `UPDATE alert_rules SET spec = $1, updated_at = $2 WHERE id = $3
		RETURNING id, spec, created_at, updated_at`, clean(string(spec)), at, clean(id)).Scan(&r.ID, &stored, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, d.fail("update alert rule", err)
	}
	r.Spec, r.CreatedAt, r.UpdatedAt = []byte(stored), r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// DeleteAlertRule deletes a rule and its state.
func (d *DB) DeleteAlertRule(ctx context.Context, id string) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM alert_rules WHERE id = $1`, clean(id))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM alert_states WHERE rule_id = $1`, clean(id))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil {
		return d.fail("delete alert rule", err)
	}
	return nil
}

// AlertStates returns the state of every rule that has one.
func (d *DB) AlertStates(ctx context.Context) ([]store.AlertState, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := d.pool.Query(ctx, `SELECT rule_id, version, state, since, notified_at, value, silenced_until, updated_at
		FROM alert_states ORDER BY rule_id`)
	if err != nil {
		return nil, d.fail("alert states", err)
	}
	defer rows.Close()
	out := []store.AlertState{}
	for rows.Next() {
		var s store.AlertState
		if err := rows.Scan(&s.RuleID, &s.Version, &s.State, &s.Since, &s.NotifiedAt, &s.Value, &s.SilencedUntil, &s.UpdatedAt); err != nil {
			return nil, d.fail("alert states", err)
		}
		s.Since, s.UpdatedAt = s.Since.UTC(), s.UpdatedAt.UTC()
		s.NotifiedAt, s.SilencedUntil = utc(s.NotifiedAt), utc(s.SilencedUntil)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("alert states", err)
	}
	return out, nil
}

// TransitionAlert moves a rule's state on from version prev and adds ev to
// the history, in one transaction.
func (d *DB) TransitionAlert(ctx context.Context, prev int64, next store.AlertState, ev *store.AlertEvent) (bool, error) {
	if d.closed.Load() {
		return false, store.ErrClosed
	}
	ok := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// The upsert's WHERE is checked on the row as it stands once
		// locked: of two processes moving the same version, one changes
		// it and the other changes nothing.
		tag, err := tx.Exec(ctx, `INSERT INTO alert_states (rule_id, version, state, since, notified_at, value, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (rule_id) DO UPDATE SET version = excluded.version, state = excluded.state, since = excluded.since,
				notified_at = excluded.notified_at, value = excluded.value, updated_at = excluded.updated_at
			WHERE alert_states.version = $8`,
			clean(next.RuleID), prev+1, next.State, next.Since, next.NotifiedAt, finite(next.Value), next.UpdatedAt, prev)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		if ev != nil {
			err := tx.QueryRow(ctx, `INSERT INTO alert_events (rule_id, rule_name, kind, at, value, silenced, status, url,
				content_type, body, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11) RETURNING id`,
				clean(ev.RuleID), clean(ev.RuleName), ev.Kind, ev.At, finite(ev.Value), ev.Silenced, ev.Status, clean(ev.URL),
				ev.ContentType, clean(ev.Body), ev.NextAttemptAt).Scan(&ev.ID)
			if err != nil {
				return err
			}
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, d.fail("alert transition", err)
	}
	return ok, nil
}

// finite keeps a NaN or an infinity (a ratio to nothing) out of a column
// SQLite could not read back either.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// SilenceAlert sets a rule's silence.
func (d *DB) SilenceAlert(ctx context.Context, ruleID string, until *time.Time) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	now := time.Now()
	_, err := d.pool.Exec(ctx, `INSERT INTO alert_states (rule_id, version, state, since, value, silenced_until, updated_at)
		VALUES ($1, 0, 'ok', $2, 0, $3, $2)
		ON CONFLICT (rule_id) DO UPDATE SET silenced_until = excluded.silenced_until`, clean(ruleID), now, until)
	if err != nil {
		return d.fail("silence alert", err)
	}
	return nil
}

const alertEventColumns = `id, rule_id, rule_name, kind, at, value, silenced, status, url, content_type, body, attempts, next_attempt_at`

func scanAlertEvent(row pgx.Row) (store.AlertEvent, error) {
	var e store.AlertEvent
	if err := row.Scan(&e.ID, &e.RuleID, &e.RuleName, &e.Kind, &e.At, &e.Value, &e.Silenced, &e.Status, &e.URL,
		&e.ContentType, &e.Body, &e.Attempts, &e.NextAttemptAt); err != nil {
		return e, err
	}
	e.At, e.NextAttemptAt = e.At.UTC(), e.NextAttemptAt.UTC()
	return e, nil
}

// AlertHistory returns alert events with their deliveries, newest first.
func (d *DB) AlertHistory(ctx context.Context, q store.AlertHistoryQuery) ([]store.AlertEvent, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	limit := q.Limit
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.DefaultLimit
	}
	before := q.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, d.fail("alert history", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, `SELECT `+alertEventColumns+` FROM alert_events
		WHERE ($1 = '' OR rule_id = $1) AND id < $2 ORDER BY id DESC LIMIT $3`, clean(q.RuleID), before, limit)
	if err != nil {
		return nil, d.fail("alert history", err)
	}
	out := []store.AlertEvent{}
	index := map[int64]int{}
	for rows.Next() {
		e, err := scanAlertEvent(rows)
		if err != nil {
			rows.Close()
			return nil, d.fail("alert history", err)
		}
		e.Deliveries = []store.AlertDelivery{}
		index[e.ID] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, d.fail("alert history", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	rows, err = tx.Query(ctx, `SELECT event_id, at, status_code, error, duration_ms FROM alert_deliveries
		WHERE event_id BETWEEN $1 AND $2 ORDER BY event_id, attempt`, out[len(out)-1].ID, out[0].ID)
	if err != nil {
		return nil, d.fail("alert history", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a store.AlertDelivery
		if err := rows.Scan(&a.EventID, &a.At, &a.StatusCode, &a.Error, &a.DurationMS); err != nil {
			return nil, d.fail("alert history", err)
		}
		a.At = a.At.UTC()
		if i, ok := index[a.EventID]; ok {
			out[i].Deliveries = append(out[i].Deliveries, a)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("alert history", err)
	}
	return out, nil
}

// ClaimAlertNotifications claims the pending notifications due at now.
func (d *DB) ClaimAlertNotifications(ctx context.Context, now, until time.Time, limit int) ([]store.AlertEvent, error) {
	if d.closed.Load() {
		return nil, store.ErrClosed
	}
	claim := store.NewClaim()
	// SKIP LOCKED: two processes claiming at once take different rows,
	// and the one that commits second finds the other's claimed_until.
	rows, err := d.pool.Query(ctx, `UPDATE alert_events SET claimed_until = $1, claim = $4
		WHERE id IN (SELECT id FROM alert_events WHERE status = 'pending' AND next_attempt_at <= $2
			AND (claimed_until IS NULL OR claimed_until <= $2) ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+alertEventColumns, until, now, limit, claim)
	if err != nil {
		return nil, d.fail("claim alert notifications", err)
	}
	defer rows.Close()
	out := []store.AlertEvent{}
	for rows.Next() {
		e, err := scanAlertEvent(rows)
		if err != nil {
			return nil, d.fail("claim alert notifications", err)
		}
		e.Claim = claim
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("claim alert notifications", err)
	}
	return out, nil
}

// RecordAlertDelivery keeps an attempt and its notification's outcome,
// when the notification is still pending under claim.
func (d *DB) RecordAlertDelivery(ctx context.Context, claim string, a store.AlertDelivery, o store.AlertOutcome) error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// The WHERE is checked on the row once locked: of a process whose
		// claim lapsed and the one that claimed the notification next,
		// only the holder of the current claim records.
		var attempts int
		err := tx.QueryRow(ctx, `UPDATE alert_events SET attempts = attempts + 1, status = $1, next_attempt_at = $2,
			claimed_until = NULL, claim = NULL WHERE id = $3 AND status = 'pending' AND claim = $4 RETURNING attempts`,
			o.Status, o.NextAttemptAt, a.EventID, claim).Scan(&attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alert_events WHERE id = $1)`, a.EventID).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return store.ErrClaimLost
			}
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO alert_deliveries (event_id, attempt, at, status_code, error, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6)`, a.EventID, attempts, a.At, a.StatusCode, clean(a.Error), a.DurationMS)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrClaimLost) {
		return err
	}
	if err != nil {
		return d.fail("record alert delivery", err)
	}
	return nil
}

// PruneAlertHistory deletes settled alert events before before.
func (d *DB) PruneAlertHistory(ctx context.Context, before time.Time) (int64, error) {
	if d.closed.Load() {
		return 0, store.ErrClosed
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM alert_events WHERE at < $1 AND status <> 'pending'`, before)
	if err != nil {
		return 0, d.fail("prune alert history", err)
	}
	return tag.RowsAffected(), nil
}

var _ store.Alerts = (*DB)(nil)
