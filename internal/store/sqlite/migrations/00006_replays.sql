-- +goose Up
-- The dead letters replayed (store.Replays), by DLQ topic and
-- "<partition>:<offset>"; replayed_at in Unix microseconds.
CREATE TABLE replays (
    dlq_topic   TEXT    NOT NULL,
    dlq_id      TEXT    NOT NULL,
    replayed_at INTEGER NOT NULL,
    PRIMARY KEY (dlq_topic, dlq_id)
) WITHOUT ROWID;
CREATE INDEX replays_replayed_at ON replays (replayed_at);

-- +goose Down
DROP TABLE replays;
