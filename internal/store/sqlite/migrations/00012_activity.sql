-- +goose Up
-- Which users were active on which UTC day (days since 1970-01-01), per
-- event type and for any type (event_type ''), with their events that day
-- (store.ActivityDelta). SQLite, with its one writer, keeps them all in
-- partition 0. The key leads with the type and the day, so the rows a
-- transaction adds sit together at the end of each type's range, and a
-- retention cohort reads its type's days only.
CREATE TABLE activity (
    day         INTEGER NOT NULL,
    event_type  TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    "partition" INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    PRIMARY KEY (event_type, day, user_id, "partition")
) WITHOUT ROWID;

-- When each user's first event was (unix microseconds), per partition:
-- a user's first seen is the least of their rows.
CREATE TABLE first_seen (
    user_id     TEXT    NOT NULL,
    "partition" INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (user_id, "partition")
) WITHOUT ROWID;
CREATE INDEX first_seen_at ON first_seen (at);

-- The events already stored are counted once, at the first start after
-- the upgrade.
INSERT INTO activity (day, event_type, user_id, "partition", events)
SELECT (e.timestamp - ((e.timestamp % 86400000000) + 86400000000) % 86400000000) / 86400000000,
    CASE k.any_type WHEN 1 THEN '' ELSE e.event_type END, e.user_id, 0, count(*)
FROM events e, (SELECT 1 AS any_type UNION ALL SELECT 0) k
GROUP BY 1, 2, 3;
INSERT INTO first_seen (user_id, "partition", at)
SELECT user_id, 0, min(timestamp) FROM events GROUP BY user_id;

-- +goose Down
DROP TABLE first_seen;
DROP TABLE activity;
