-- +goose Up
-- The tracking plan (docs/tracker.md): a JSON Schema per event type, and
-- per source what broke it.
CREATE TABLE tracking_plan (
    event_type  TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    schema      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per source, event type and problem; times in microseconds.
CREATE TABLE plan_warnings (
    source_id  TEXT    NOT NULL,
    event_type TEXT    NOT NULL,
    problem    TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    warned     INTEGER NOT NULL DEFAULT 0,
    rejected   INTEGER NOT NULL DEFAULT 0,
    example    TEXT    NOT NULL,
    first_at   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL,
    PRIMARY KEY (source_id, event_type, problem)
) WITHOUT ROWID;
CREATE INDEX plan_warnings_last_at ON plan_warnings (last_at);

-- +goose Down
DROP TABLE plan_warnings;
DROP TABLE tracking_plan;
