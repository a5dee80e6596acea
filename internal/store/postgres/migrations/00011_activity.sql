-- +goose Up
-- Which users were active on which UTC day (days since 1970-01-01), per
-- event type and for any type (event_type ''), with their events that day
-- (store.ActivityDelta), per partition like the rollups, so that writers
-- of different partitions never wait on one row. The key leads with the
-- type and the day, so the rows a statement adds sit together at the end
-- of each type's range, and a retention cohort reads its type's days only.
CREATE TABLE activity (
    event_type  text NOT NULL,
    day         int8 NOT NULL,
    user_id     text NOT NULL,
    "partition" int4 NOT NULL,
    events      int8 NOT NULL,
    PRIMARY KEY (event_type, day, user_id, "partition")
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
INSERT INTO activity (event_type, day, user_id, "partition", events)
SELECT k.event_type, floor(extract(epoch FROM e."timestamp") / 86400)::int8, e.user_id, e."partition", count(*)
FROM events e, LATERAL (VALUES (e.event_type), ('')) k(event_type)
GROUP BY 1, 2, 3, 4;
INSERT INTO first_seen (user_id, "partition", at)
SELECT user_id, "partition", min("timestamp") FROM events GROUP BY 1, 2;

-- +goose Down
DROP TABLE first_seen;
DROP TABLE activity;
