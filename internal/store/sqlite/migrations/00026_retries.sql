-- +goose Up
-- The retry state of records whose processing failed and is due again
-- (store.Retry): written when an attempt fails, deleted by the
-- transaction that writes the record's finished processing-log row. A new
-- owner of a partition (after a crash or a rebalance) reads its rows and
-- resumes each retry at its due time with the budget it has left. Only
-- failing records ever touch this table, and it holds only those in play.
-- Times are unix microseconds in UTC.
CREATE TABLE retries (
    topic         TEXT    NOT NULL,
    "partition"   INTEGER NOT NULL,
    "offset"      INTEGER NOT NULL,
    event_id      TEXT    NOT NULL,
    retries       INTEGER NOT NULL,
    next_retry_at INTEGER NOT NULL,
    attempts      TEXT,
    consumer_id   TEXT    NOT NULL DEFAULT '',
    queued_at     INTEGER NOT NULL,
    event_type    TEXT    NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (topic, "partition", "offset")
) WITHOUT ROWID;
-- The message timeline finds a retry no member has taken up yet by its
-- event_id.
CREATE INDEX retries_event_id ON retries (event_id);

-- +goose Down
DROP TABLE retries;
