-- +goose Up
-- Which users were active on which UTC day (days since 1970-01-01), per
-- event type, with their events that day (store.ActivityDelta). SQLite,
-- with its one writer, keeps them all in partition 0. The key leads with
-- the day, so the rows a transaction adds sit together at the end, and a
-- retention table reads its days only (any type, or one).
CREATE TABLE activity (
    day         INTEGER NOT NULL,
    user_id     TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    "partition" INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    PRIMARY KEY (day, user_id, event_type, "partition")
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
INSERT INTO activity (day, user_id, event_type, "partition", events)
SELECT (timestamp - ((timestamp % 86400000000) + 86400000000) % 86400000000) / 86400000000,
    user_id, event_type, 0, count(*)
FROM events GROUP BY 1, 2, 3;
INSERT INTO first_seen (user_id, "partition", at)
SELECT user_id, 0, min(timestamp) FROM events GROUP BY user_id;

-- +goose Down
DROP TABLE first_seen;
DROP TABLE activity;
