-- +goose Up
-- Alert rules made in the console or the API (a rules file's are kept in
-- memory), the state of each rule's evaluation, the alert history with
-- each notification's delivery, and every delivery attempt.
CREATE TABLE alert_rules (
    id         TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- version is moved on by every change of state, in the transaction that
-- adds its history row: two processes evaluating the same rule cannot
-- both make the same change.
CREATE TABLE alert_states (
    rule_id        TEXT PRIMARY KEY,
    version        INTEGER NOT NULL,
    state          TEXT NOT NULL,
    since          INTEGER NOT NULL,
    notified_at    INTEGER,
    value          REAL NOT NULL,
    silenced_until INTEGER,
    updated_at     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE alert_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id         TEXT NOT NULL,
    rule_name       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    at              INTEGER NOT NULL,
    value           REAL NOT NULL,
    silenced        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    url             TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER
);
CREATE INDEX alert_events_rule ON alert_events (rule_id, id);
CREATE INDEX alert_events_due ON alert_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_events_at ON alert_events (at);

CREATE TABLE alert_deliveries (
    event_id    INTEGER NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    PRIMARY KEY (event_id, attempt)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE alert_deliveries;
DROP TABLE alert_events;
DROP TABLE alert_states;
DROP TABLE alert_rules;
