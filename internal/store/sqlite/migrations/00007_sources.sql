-- +goose Up
-- Sources and the delivery ledger (docs/tracker.md). An event keeps the
-- source it came through and its browser's anonymous id.
ALTER TABLE events ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN anonymous_id TEXT NOT NULL DEFAULT '';

CREATE TABLE sources (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    write_key  TEXT NOT NULL UNIQUE,
    origins    TEXT NOT NULL,
    settings   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;

-- One row per 10 s bucket, source and partition (-1: the collector's
-- counts), added to by each batch's transaction.
CREATE TABLE ledger_counts (
    bucket         INTEGER NOT NULL,
    source_id      TEXT    NOT NULL,
    "partition"    INTEGER NOT NULL,
    numbered       INTEGER NOT NULL DEFAULT 0,
    received       INTEGER NOT NULL DEFAULT 0,
    rejected       INTEGER NOT NULL DEFAULT 0,
    dnt_dropped    INTEGER NOT NULL DEFAULT 0,
    stored         INTEGER NOT NULL DEFAULT 0,
    sequenced      INTEGER NOT NULL DEFAULT 0,
    duplicates     INTEGER NOT NULL DEFAULT 0,
    dropped_client INTEGER NOT NULL DEFAULT 0,
    late           INTEGER NOT NULL DEFAULT 0,
    skew_corrected INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, source_id, "partition")
) WITHOUT ROWID;

-- The highest sequence number stored per page load, which the next one
-- is measured against; last_at (unix seconds) for retention.
CREATE TABLE ledger_streams (
    source_id TEXT    NOT NULL,
    stream_id TEXT    NOT NULL,
    max_seq   INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    PRIMARY KEY (source_id, stream_id)
) WITHOUT ROWID;
CREATE INDEX ledger_streams_last_at ON ledger_streams (last_at);

-- +goose Down
DROP TABLE ledger_streams;
DROP TABLE ledger_counts;
DROP TABLE sources;
ALTER TABLE events DROP COLUMN anonymous_id;
ALTER TABLE events DROP COLUMN source_id;
