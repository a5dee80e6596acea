-- +goose Up
-- The insights' rollups (store.RollupDelta): stored events per bucket of
-- their event time (width 60 or 3600 s), type and one dimension's value
-- (dim '' counts each event once; 'page', 'element_id', 'source_id').
-- SQLite, with its one writer, keeps them all in partition 0. Each batch's transaction adds to them and
-- retention takes off what it deletes. The key leads with what a trend
-- fixes (width, dimension, type) so that it reads the range's buckets only.
CREATE TABLE rollups (
    width       INTEGER NOT NULL,
    dim         TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,
    value       TEXT    NOT NULL,
    "partition" INTEGER NOT NULL,
    events      INTEGER NOT NULL,
    PRIMARY KEY (width, dim, event_type, bucket, value, "partition")
) WITHOUT ROWID;
-- The events already stored are counted once, at the first start after
-- the upgrade (timestamps are microseconds).
INSERT INTO rollups (width, dim, event_type, bucket, value, "partition", events)
SELECT w.width, d.dim, e.event_type, e.timestamp / 1000000 / w.width * w.width,
    CASE d.dim WHEN 'page' THEN e.page WHEN 'element_id' THEN e.element_id
        WHEN 'source_id' THEN e.source_id ELSE '' END,
    0, count(*)
FROM events e, (SELECT 60 AS width UNION ALL SELECT 3600) w,
    (SELECT '' AS dim UNION ALL SELECT 'page' UNION ALL SELECT 'element_id' UNION ALL SELECT 'source_id') d
GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
DROP TABLE rollups;
