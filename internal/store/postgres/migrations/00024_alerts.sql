-- +goose Up
-- Alert rules made in the console or the API (a rules file's are kept in
-- memory), the state of each rule's evaluation, the alert history with
-- each notification's delivery, and every delivery attempt.
CREATE TABLE alert_rules (
    id         TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- version is moved on by every change of state, in the transaction that
-- adds its history row: two processes evaluating the same rule cannot
-- both make the same change.
CREATE TABLE alert_states (
    rule_id        TEXT PRIMARY KEY,
    version        BIGINT NOT NULL,
    state          TEXT NOT NULL,
    since          TIMESTAMPTZ NOT NULL,
    notified_at    TIMESTAMPTZ,
    value          DOUBLE PRECISION NOT NULL,
    silenced_until TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE alert_events (
    id              BIGSERIAL PRIMARY KEY,
    rule_id         TEXT NOT NULL,
    rule_name       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    silenced        BOOLEAN NOT NULL,
    status          TEXT NOT NULL,
    url             TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ
);
CREATE INDEX alert_events_rule ON alert_events (rule_id, id);
CREATE INDEX alert_events_due ON alert_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alert_events_at ON alert_events (at);

CREATE TABLE alert_deliveries (
    event_id    BIGINT NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (event_id, attempt)
);

-- +goose Down
DROP TABLE alert_deliveries;
DROP TABLE alert_events;
DROP TABLE alert_states;
DROP TABLE alert_rules;
