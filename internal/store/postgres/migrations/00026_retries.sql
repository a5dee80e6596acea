-- +goose Up
-- The retry state of records whose processing failed and is due again
-- (store.Retry): written when an attempt fails, deleted by the
-- transaction that writes the record's finished processing-log row. A new
-- owner of a partition (after a crash or a rebalance) reads its rows and
-- resumes each retry at its due time with the budget it has left. Only
-- failing records ever touch this table, and it holds only those in play.
CREATE TABLE retries (
    topic         text        NOT NULL,
    "partition"   int4        NOT NULL,
    "offset"      int8        NOT NULL,
    event_id      text        NOT NULL,
    retries       int4        NOT NULL,
    next_retry_at timestamptz NOT NULL,
    attempts      text,
    consumer_id   text        NOT NULL DEFAULT '',
    queued_at     timestamptz NOT NULL,
    event_type    text        NOT NULL DEFAULT '',
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (topic, "partition", "offset")
);
-- The message timeline finds a retry no member has taken up yet by its
-- event_id.
CREATE INDEX retries_event_id ON retries (event_id);

-- +goose Down
DROP TABLE retries;
