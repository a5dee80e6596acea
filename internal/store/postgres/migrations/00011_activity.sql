-- +goose Up
-- Which users were active on which UTC day (days since 1970-01-01), per
-- event type, with their events that day (store.ActivityDelta), per
-- partition like the rollups, so that writers of different partitions
-- never wait on one row. The key leads with the day, so the rows a
-- statement adds sit together at the end, and a retention table reads its
-- days only (any type, or one).
CREATE TABLE activity (
    day         int8 NOT NULL,
    user_id     text NOT NULL,
    event_type  text NOT NULL,
    "partition" int4 NOT NULL,
    events      int8 NOT NULL,
    PRIMARY KEY (day, user_id, event_type, "partition")
);

-- When each user's first event was, per partition: a user's first seen is
-- the least of their rows.
CREATE TABLE first_seen (
    user_id     text        NOT NULL,
    "partition" int4        NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (user_id, "partition")
);
CREATE INDEX first_seen_at ON first_seen (at);

-- The events already stored are counted once, at the first start after
-- the upgrade.
INSERT INTO activity (day, user_id, event_type, "partition", events)
SELECT floor(extract(epoch FROM "timestamp") / 86400)::int8, user_id, event_type, "partition", count(*)
FROM events GROUP BY 1, 2, 3, 4;
INSERT INTO first_seen (user_id, "partition", at)
SELECT user_id, "partition", min("timestamp") FROM events GROUP BY 1, 2;

-- +goose Down
DROP TABLE first_seen;
DROP TABLE activity;
