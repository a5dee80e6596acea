-- +goose Up
-- The charts' time series (package series): events stored per 10 s bucket,
-- partition and type, and their latency histogram, added to in each
-- batch's transaction; the consumer group's lag sampled every 5 s; the
-- markers drawn on the charts. Times are Unix seconds (bucket) or
-- microseconds (t), like the other tables.
CREATE TABLE series_events (
    bucket      INTEGER NOT NULL,
    "partition" INTEGER NOT NULL,
    event_type  TEXT    NOT NULL,
    events      INTEGER NOT NULL,
    PRIMARY KEY (bucket, "partition", event_type)
) WITHOUT ROWID;
CREATE TABLE series_latency (
    bucket      INTEGER NOT NULL,
    "partition" INTEGER NOT NULL,
    bin         INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    PRIMARY KEY (bucket, "partition", bin)
) WITHOUT ROWID;
CREATE TABLE lag_samples (
    t                 INTEGER PRIMARY KEY,
    total_lag         INTEGER NOT NULL,
    max_lag_seconds   REAL    NOT NULL,
    events_per_second REAL    NOT NULL
);
CREATE TABLE markers (
    t      INTEGER NOT NULL,
    kind   TEXT    NOT NULL,
    detail TEXT    NOT NULL,
    PRIMARY KEY (t, kind, detail)
) WITHOUT ROWID;
-- The counts of the events already stored (one scan, at the first start
-- after the upgrade); their latency history starts here.
INSERT INTO series_events (bucket, "partition", event_type, events)
SELECT created_at / 10000000 * 10, "partition", event_type, count(*) FROM events
WHERE created_at >= (unixepoch() - 8 * 86400) * 1000000
GROUP BY 1, 2, 3;

-- +goose Down
DROP TABLE markers;
DROP TABLE lag_samples;
DROP TABLE series_latency;
DROP TABLE series_events;
