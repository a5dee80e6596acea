-- +goose Up
-- Each user's days of activity as bits, per event type and partition like
-- activity, in spans of 63 days (store.ActiveDaysSpan) from day 0: bit d
-- of days is day span_from+d. A bit is set while the activity row of its
-- day exists, so retention reads a row per user and type where activity
-- has one per user, type and day (about 8 times fewer over 8 weeks). The
-- write sets a bit only when it inserts an activity row (a user's first
-- event of a type on a day); the deletes that remove activity rows clear
-- theirs.
CREATE TABLE active_spans (
    span_from   int8 NOT NULL,
    user_id     text NOT NULL,
    event_type  text NOT NULL,
    "partition" int4 NOT NULL,
    days        int8 NOT NULL,
    PRIMARY KEY (span_from, user_id, event_type, "partition")
);

INSERT INTO active_spans (span_from, user_id, event_type, "partition", days)
SELECT day - ((day % 63) + 63) % 63, user_id, event_type, "partition",
    bit_or(1::int8 << (((day % 63) + 63) % 63)::int4)
FROM activity GROUP BY 1, 2, 3, 4;

-- +goose Down
DROP TABLE active_spans;
