-- +goose Up
-- The running totals the live statistics start from (store.Totals):
-- events per type, button clicks per element, processing-log rows per
-- status with their summed duration. SQLite, with its one writer, keeps
-- them all in partition 0 (PostgreSQL per partition).
-- Each batch's transaction adds to them and retention takes off what it
-- deletes in the same transaction, so they never disagree with the rows
-- and reading them costs the same at 10 M events as at 10.
CREATE TABLE totals (
    "partition" INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    ms          REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY ("partition", kind, key)
) WITHOUT ROWID;
-- The rows already stored are counted once, at the first start after the
-- upgrade.
INSERT INTO totals ("partition", kind, key, n, ms)
SELECT 0, 'type', event_type, count(*), 0 FROM events GROUP BY event_type;
INSERT INTO totals ("partition", kind, key, n, ms)
SELECT 0, 'click', element_id, count(*), 0 FROM events
WHERE event_type = 'button_click' GROUP BY element_id;
INSERT INTO totals ("partition", kind, key, n, ms)
SELECT 0, 'status', status, count(*), coalesce(sum(duration_ms), 0) FROM messages
GROUP BY status;

-- +goose Down
DROP TABLE totals;
