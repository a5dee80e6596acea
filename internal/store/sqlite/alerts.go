package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/pulse-dev/pulse/internal/store"
)

// AlertRules returns the rules, oldest first.
func (d *DB) AlertRules(ctx context.Context) ([]store.AlertRule, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT id, spec, created_at, updated_at FROM alert_rules ORDER BY created_at, id`)
	if err != nil {
		return nil, d.fail("alert rules", err)
	}
	defer rows.Close()
	out := []store.AlertRule{}
	for rows.Next() {
		var (
			r                store.AlertRule
			spec             string
			created, updated int64
		)
		if err := rows.Scan(&r.ID, &spec, &created, &updated); err != nil {
			return nil, d.fail("alert rules", err)
		}
		r.Spec, r.CreatedAt, r.UpdatedAt = []byte(spec), fromMicros(created), fromMicros(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("alert rules", err)
	}
	return out, nil
}

// CreateAlertRule stores a new rule.
func (d *DB) CreateAlertRule(ctx context.Context, r store.AlertRule) error {
	if err := d.writable(); err != nil {
		return err
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO alert_rules (id, spec, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		r.ID, string(r.Spec), micros(r.CreatedAt), micros(r.UpdatedAt))
	if err != nil {
		return d.fail("create alert rule", err)
	}
	return nil
}

// UpdateAlertRule replaces a rule's spec.
func (d *DB) UpdateAlertRule(ctx context.Context, id string, spec []byte, at time.Time) (store.AlertRule, error) {
	if err := d.writable(); err != nil {
		return store.AlertRule{}, err
	}
	var (
		r                store.AlertRule
		stored           string
		created, updated int64
	)
	err := d.w.QueryRowContext(ctx, `UPDATE alert_rules SET spec = ?, updated_at = ? WHERE id = ?
		RETURNING id, spec, created_at, updated_at`, string(spec), micros(at), id).Scan(&r.ID, &stored, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	if err != nil {
		return r, d.fail("update alert rule", err)
	}
	r.Spec, r.CreatedAt, r.UpdatedAt = []byte(stored), fromMicros(created), fromMicros(updated)
	return r, nil
}

// DeleteAlertRule deletes a rule and its state.
func (d *DB) DeleteAlertRule(ctx context.Context, id string) error {
	if err := d.writable(); err != nil {
		return err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail("delete alert rule", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = ?`, id)
	if err != nil {
		return d.fail("delete alert rule", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return store.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_states WHERE rule_id = ?`, id); err != nil {
		return d.fail("delete alert rule", err)
	}
	if err := tx.Commit(); err != nil {
		return d.fail("delete alert rule", err)
	}
	return nil
}

// AlertStates returns the state of every rule that has one.
func (d *DB) AlertStates(ctx context.Context) ([]store.AlertState, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	rows, err := d.r.QueryContext(ctx, `SELECT rule_id, version, state, since, notified_at, value, silenced_until, updated_at
		FROM alert_states ORDER BY rule_id`)
	if err != nil {
		return nil, d.fail("alert states", err)
	}
	defer rows.Close()
	out := []store.AlertState{}
	for rows.Next() {
		var (
			s                 store.AlertState
			since, updated    int64
			notified, silence sql.NullInt64
		)
		if err := rows.Scan(&s.RuleID, &s.Version, &s.State, &since, &notified, &s.Value, &silence, &updated); err != nil {
			return nil, d.fail("alert states", err)
		}
		s.Since, s.UpdatedAt = fromMicros(since), fromMicros(updated)
		s.NotifiedAt, s.SilencedUntil = fromNullMicros(notified), fromNullMicros(silence)
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
	if err := d.writable(); err != nil {
		return false, err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return false, d.fail("alert transition", err)
	}
	defer func() { _ = tx.Rollback() }()
	// A rule without a state row (prev 0) may have one made by a silence,
	// at version 0: the upsert takes it over only at that version.
	res, err := tx.ExecContext(ctx, `INSERT INTO alert_states (rule_id, version, state, since, notified_at, value, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (rule_id) DO UPDATE SET version = excluded.version, state = excluded.state, since = excluded.since,
			notified_at = excluded.notified_at, value = excluded.value, updated_at = excluded.updated_at
		WHERE alert_states.version = ?`,
		next.RuleID, prev+1, next.State, micros(next.Since), nullMicros(next.NotifiedAt), finite(next.Value), micros(next.UpdatedAt), prev)
	if err != nil {
		return false, d.fail("alert transition", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, nil
	}
	if ev != nil {
		err := tx.QueryRowContext(ctx, `INSERT INTO alert_events (rule_id, rule_name, kind, at, value, silenced, status, url,
			content_type, body, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) RETURNING id`,
			ev.RuleID, ev.RuleName, ev.Kind, micros(ev.At), finite(ev.Value), ev.Silenced, ev.Status, ev.URL, ev.ContentType,
			ev.Body, micros(ev.NextAttemptAt)).Scan(&ev.ID)
		if err != nil {
			return false, d.fail("alert transition", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, d.fail("alert transition", err)
	}
	return true, nil
}

// finite keeps a NaN or an infinity (a ratio to nothing) out of a REAL
// column, where SQLite would read it back as NULL.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// SilenceAlert sets a rule's silence.
func (d *DB) SilenceAlert(ctx context.Context, ruleID string, until *time.Time) error {
	if err := d.writable(); err != nil {
		return err
	}
	now := micros(time.Now())
	_, err := d.w.ExecContext(ctx, `INSERT INTO alert_states (rule_id, version, state, since, value, silenced_until, updated_at)
		VALUES (?, 0, 'ok', ?, 0, ?, ?)
		ON CONFLICT (rule_id) DO UPDATE SET silenced_until = excluded.silenced_until`,
		ruleID, now, nullMicros(until), now)
	if err != nil {
		return d.fail("silence alert", err)
	}
	return nil
}

const alertEventColumns = `id, rule_id, rule_name, kind, at, value, silenced, status, url, content_type, body, attempts, next_attempt_at`

func scanAlertEvent(row scanner) (store.AlertEvent, error) {
	var (
		e        store.AlertEvent
		at, next int64
	)
	if err := row.Scan(&e.ID, &e.RuleID, &e.RuleName, &e.Kind, &at, &e.Value, &e.Silenced, &e.Status, &e.URL,
		&e.ContentType, &e.Body, &e.Attempts, &next); err != nil {
		return e, err
	}
	e.At, e.NextAttemptAt = fromMicros(at), fromMicros(next)
	return e, nil
}

// AlertHistory returns alert events with their deliveries, newest first.
func (d *DB) AlertHistory(ctx context.Context, q store.AlertHistoryQuery) ([]store.AlertEvent, error) {
	if err := d.usable(); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.DefaultLimit
	}
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	tx, err := d.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, d.fail("alert history", err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, `SELECT `+alertEventColumns+` FROM alert_events
		WHERE (? = '' OR rule_id = ?) AND id < ? ORDER BY id DESC LIMIT ?`, q.RuleID, q.RuleID, before, limit)
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
	rows, err = tx.QueryContext(ctx, `SELECT event_id, at, status_code, error, duration_ms FROM alert_deliveries
		WHERE event_id BETWEEN ? AND ? ORDER BY event_id, attempt`, out[len(out)-1].ID, out[0].ID)
	if err != nil {
		return nil, d.fail("alert history", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a  store.AlertDelivery
			at int64
		)
		if err := rows.Scan(&a.EventID, &at, &a.StatusCode, &a.Error, &a.DurationMS); err != nil {
			return nil, d.fail("alert history", err)
		}
		a.At = fromMicros(at)
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
	if err := d.writable(); err != nil {
		return nil, err
	}
	claim := store.NewClaim()
	// One writer at a time: the UPDATE ... RETURNING is the claim.
	rows, err := d.w.QueryContext(ctx, `UPDATE alert_events SET claimed_until = ?, claim = ?
		WHERE id IN (SELECT id FROM alert_events WHERE status = 'pending' AND next_attempt_at <= ?
			AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY next_attempt_at, id LIMIT ?)
		RETURNING `+alertEventColumns, micros(until), claim, micros(now), micros(now), limit)
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
	if err := d.writable(); err != nil {
		return err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return d.fail("record alert delivery", err)
	}
	defer func() { _ = tx.Rollback() }()
	// Only the holder of the notification's current claim records: a
	// process whose claim lapsed and was taken over changes nothing.
	var attempts int
	err = tx.QueryRowContext(ctx, `UPDATE alert_events SET attempts = attempts + 1, status = ?, next_attempt_at = ?,
		claimed_until = NULL, claim = NULL WHERE id = ? AND status = 'pending' AND claim = ? RETURNING attempts`,
		o.Status, micros(o.NextAttemptAt), a.EventID, claim).Scan(&attempts)
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM alert_events WHERE id = ?)`, a.EventID).Scan(&exists); err != nil {
			return d.fail("record alert delivery", err)
		}
		if exists {
			return store.ErrClaimLost
		}
		return store.ErrNotFound
	}
	if err != nil {
		return d.fail("record alert delivery", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_deliveries (event_id, attempt, at, status_code, error, duration_ms)
		VALUES (?, ?, ?, ?, ?, ?)`, a.EventID, attempts, micros(a.At), a.StatusCode, a.Error, a.DurationMS); err != nil {
		return d.fail("record alert delivery", err)
	}
	if err := tx.Commit(); err != nil {
		return d.fail("record alert delivery", err)
	}
	return nil
}

// PruneAlertHistory deletes settled alert events before before.
func (d *DB) PruneAlertHistory(ctx context.Context, before time.Time) (int64, error) {
	if err := d.writable(); err != nil {
		return 0, err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, d.fail("prune alert history", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_deliveries WHERE event_id IN
		(SELECT id FROM alert_events WHERE at < ? AND status <> 'pending')`, micros(before)); err != nil {
		return 0, d.fail("prune alert history", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM alert_events WHERE at < ? AND status <> 'pending'`, micros(before))
	if err != nil {
		return 0, d.fail("prune alert history", err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, d.fail("prune alert history", err)
	}
	return n, nil
}

var _ store.Alerts = (*DB)(nil)
