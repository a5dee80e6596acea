-- +goose Up
-- Rows are only appended, so the id order follows created_at closely:
-- retention walks the primary key instead of keeping an index on
-- created_at that every insert would pay for. properties is json, not
-- jsonb, so that it comes back exactly as it was sent.
CREATE TABLE events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      text             NOT NULL UNIQUE,
    user_id       text             NOT NULL,
    event_type    text             NOT NULL,
    element_id    text             NOT NULL DEFAULT '',
    session_id    text             NOT NULL DEFAULT '',
    page          text             NOT NULL DEFAULT '',
    message       text             NOT NULL DEFAULT '',
    properties    json,
    delay_seconds double precision NOT NULL DEFAULT 0,
    should_fail   boolean          NOT NULL DEFAULT false,
    "timestamp"   timestamptz      NOT NULL,
    source        text             NOT NULL DEFAULT '',
    topic         text             NOT NULL DEFAULT '',
    "partition"   integer          NOT NULL DEFAULT 0,
    "offset"      bigint           NOT NULL DEFAULT 0,
    request_id    text             NOT NULL DEFAULT '',
    created_at    timestamptz      NOT NULL
);

CREATE TABLE messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      text             NOT NULL UNIQUE,
    event_type    text             NOT NULL DEFAULT '',
    user_id       text             NOT NULL DEFAULT '',
    element_id    text             NOT NULL DEFAULT '',
    status        text             NOT NULL,
    source        text             NOT NULL DEFAULT '',
    consumer_id   text             NOT NULL DEFAULT '',
    topic         text             NOT NULL DEFAULT '',
    "partition"   integer          NOT NULL DEFAULT 0,
    "offset"      bigint           NOT NULL DEFAULT 0,
    request_id    text             NOT NULL DEFAULT '',
    queued_at     timestamptz      NOT NULL,
    started_at    timestamptz,
    completed_at  timestamptz,
    duration_ms   double precision NOT NULL DEFAULT 0,
    retries       integer          NOT NULL DEFAULT 0,
    next_retry_at timestamptz,
    error         text             NOT NULL DEFAULT '',
    created_at    timestamptz      NOT NULL
);

-- The queue monitor filters by status or by source, newest first.
CREATE INDEX messages_status_id ON messages (status, id);
CREATE INDEX messages_source_id ON messages (source, id);

-- +goose Down
DROP TABLE messages;
DROP TABLE events;
