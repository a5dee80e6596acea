-- +goose Up
-- Sources and the delivery ledger (docs/tracker.md). An event keeps the
-- source it came through and its browser's anonymous id.
ALTER TABLE events ADD COLUMN source_id text NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN anonymous_id text NOT NULL DEFAULT '';

CREATE TABLE sources (
    id         text        PRIMARY KEY,
    name       text        NOT NULL UNIQUE,
    write_key  text        NOT NULL UNIQUE,
    origins    jsonb       NOT NULL,
    settings   jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- One row per 10 s bucket (Unix seconds), source and partition (-1: the
-- collector's counts): consumers owning different partitions never update
-- one row.
CREATE TABLE ledger_counts (
    bucket         int8 NOT NULL,
    source_id      text NOT NULL,
    "partition"    int4 NOT NULL,
    numbered       int8 NOT NULL DEFAULT 0,
    received       int8 NOT NULL DEFAULT 0,
    rejected       int8 NOT NULL DEFAULT 0,
    dnt_dropped    int8 NOT NULL DEFAULT 0,
    stored         int8 NOT NULL DEFAULT 0,
    sequenced      int8 NOT NULL DEFAULT 0,
    duplicates     int8 NOT NULL DEFAULT 0,
    dropped_client int8 NOT NULL DEFAULT 0,
    late           int8 NOT NULL DEFAULT 0,
    skew_corrected int8 NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, source_id, "partition")
);

-- The highest sequence number stored per page load; last_at (Unix
-- seconds) for retention.
CREATE TABLE ledger_streams (
    source_id text NOT NULL,
    stream_id text NOT NULL,
    max_seq   int8 NOT NULL,
    last_at   int8 NOT NULL,
    PRIMARY KEY (source_id, stream_id)
);
CREATE INDEX ledger_streams_last_at ON ledger_streams (last_at);

-- +goose Down
DROP TABLE ledger_streams;
DROP TABLE ledger_counts;
DROP TABLE sources;
ALTER TABLE events DROP COLUMN anonymous_id;
ALTER TABLE events DROP COLUMN source_id;
