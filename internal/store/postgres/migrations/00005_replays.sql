-- +goose Up
-- The dead letters replayed (store.Replays), by DLQ topic and
-- "<partition>:<offset>".
CREATE TABLE replays (
    dlq_topic   text        NOT NULL,
    dlq_id      text        NOT NULL,
    replayed_at timestamptz NOT NULL,
    PRIMARY KEY (dlq_topic, dlq_id)
);
CREATE INDEX replays_replayed_at ON replays (replayed_at);

-- +goose Down
DROP TABLE replays;
