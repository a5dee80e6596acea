-- +goose Up
-- Times are unix microseconds in UTC. Rows are only ever appended, so the
-- rowid order is the order of created_at: retention walks the rowid instead
-- of keeping an index on created_at that every insert would pay for.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT    NOT NULL UNIQUE,
    user_id       TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    element_id    TEXT    NOT NULL DEFAULT '',
    session_id    TEXT    NOT NULL DEFAULT '',
    page          TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    properties    TEXT,
    delay_seconds REAL    NOT NULL DEFAULT 0,
    should_fail   INTEGER NOT NULL DEFAULT 0,
    timestamp     INTEGER NOT NULL,
    source        TEXT    NOT NULL DEFAULT '',
    topic         TEXT    NOT NULL DEFAULT '',
    "partition"   INTEGER NOT NULL DEFAULT 0,
    "offset"      INTEGER NOT NULL DEFAULT 0,
    request_id    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT    NOT NULL UNIQUE,
    event_type    TEXT    NOT NULL DEFAULT '',
    user_id       TEXT    NOT NULL DEFAULT '',
    element_id    TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL,
    source        TEXT    NOT NULL DEFAULT '',
    consumer_id   TEXT    NOT NULL DEFAULT '',
    topic         TEXT    NOT NULL DEFAULT '',
    "partition"   INTEGER NOT NULL DEFAULT 0,
    "offset"      INTEGER NOT NULL DEFAULT 0,
    request_id    TEXT    NOT NULL DEFAULT '',
    queued_at     INTEGER NOT NULL,
    started_at    INTEGER,
    completed_at  INTEGER,
    duration_ms   REAL    NOT NULL DEFAULT 0,
    retries       INTEGER NOT NULL DEFAULT 0,
    next_retry_at INTEGER,
    error         TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

-- The queue monitor filters by status or by source, newest first.
CREATE INDEX messages_status_id ON messages (status, id);
CREATE INDEX messages_source_id ON messages (source, id);

-- +goose Down
DROP TABLE messages;
DROP TABLE events;
