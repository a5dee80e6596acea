-- +goose Up
-- The insights' rollups (store.RollupDelta): stored events per bucket of
-- their event time (width 60 or 3600 s), type and one dimension's value
-- (dim '' counts each event once; 'page', 'element_id', 'source_id'),
-- per partition like the series, so that writers of different partitions
-- never wait on one row. Each batch's statement adds to them and
-- retention takes off what it deletes. The key leads with what a trend
-- fixes (width, dimension, type) so that it reads the range's buckets only.
CREATE TABLE rollups (
    width       int8 NOT NULL,
    dim         text NOT NULL,
    event_type  text NOT NULL,
    bucket      int8 NOT NULL,
    value       text NOT NULL,
    "partition" int4 NOT NULL,
    events      int8 NOT NULL,
    PRIMARY KEY (width, dim, event_type, bucket, value, "partition")
);
-- The events already stored are counted once, at the first start after
-- the upgrade.
INSERT INTO rollups (width, dim, event_type, bucket, value, "partition", events)
SELECT w.width, d.dim, e.event_type, floor(extract(epoch FROM e."timestamp") / w.width)::int8 * w.width,
    CASE d.dim WHEN 'page' THEN e.page WHEN 'element_id' THEN e.element_id
        WHEN 'source_id' THEN e.source_id ELSE '' END,
    e."partition", count(*)
FROM events e, (VALUES (60::int8), (3600::int8)) w(width),
    (VALUES (''), ('page'), ('element_id'), ('source_id')) d(dim)
GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
DROP TABLE rollups;
