-- +goose Up
-- The charts' time series (package series): events stored per 10 s bucket,
-- partition and type, and their latency histogram, added to in each
-- batch's transaction; the consumer group's lag sampled every 5 s; the
-- markers drawn on the charts. A bucket is the Unix second it starts at.
CREATE TABLE series_events (
    bucket      int8 NOT NULL,
    "partition" int4 NOT NULL,
    event_type  text NOT NULL,
    events      int8 NOT NULL,
    PRIMARY KEY (bucket, "partition", event_type)
);
CREATE TABLE series_latency (
    bucket      int8 NOT NULL,
    "partition" int4 NOT NULL,
    bin         int2 NOT NULL,
    events      int8 NOT NULL,
    PRIMARY KEY (bucket, "partition", bin)
);
CREATE TABLE lag_samples (
    t                 timestamptz      PRIMARY KEY,
    total_lag         int8             NOT NULL,
    max_lag_seconds   double precision NOT NULL,
    events_per_second double precision NOT NULL
);
CREATE TABLE markers (
    t      timestamptz NOT NULL,
    kind   text        NOT NULL,
    detail text        NOT NULL,
    PRIMARY KEY (t, kind, detail)
);
-- The counts of the events already stored (one scan, at the first start
-- after the upgrade); their latency history starts here.
INSERT INTO series_events (bucket, "partition", event_type, events)
SELECT floor(extract(epoch FROM created_at) / 10)::int8 * 10, "partition", event_type, count(*) FROM events
WHERE created_at >= now() - interval '8 days'
GROUP BY 1, 2, 3;

-- +goose Down
DROP TABLE markers;
DROP TABLE lag_samples;
DROP TABLE series_latency;
DROP TABLE series_events;
