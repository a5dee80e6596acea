-- +goose Up
-- The tracking plan (docs/tracker.md): a JSON Schema per event type, and
-- per source what broke it.
CREATE TABLE tracking_plan (
    event_type  text        PRIMARY KEY,
    description text        NOT NULL,
    schema      text        NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- One row per source, event type and problem.
CREATE TABLE plan_warnings (
    source_id  text        NOT NULL,
    event_type text        NOT NULL,
    problem    text        NOT NULL,
    field      text        NOT NULL,
    reason     text        NOT NULL,
    warned     int8        NOT NULL DEFAULT 0,
    rejected   int8        NOT NULL DEFAULT 0,
    example    text        NOT NULL,
    first_at   timestamptz NOT NULL,
    last_at    timestamptz NOT NULL,
    PRIMARY KEY (source_id, event_type, problem)
);
CREATE INDEX plan_warnings_last_at ON plan_warnings (last_at);

-- +goose Down
DROP TABLE plan_warnings;
DROP TABLE tracking_plan;
