-- +goose Up
-- The property keys the rollups also count events by (store.RollupKeys).
-- A key's rollup rows have the dimension '#' and its id. The events with
-- id >= counted_from are counted: the writers count those stored since
-- the key was added (from_id on), and the filler walks counted_from down
-- over the older ones, a chunk at a time, to low_id (the oldest event
-- when the key was added); then the key is ready. A removed key stays
-- here until the filler has deleted its rows; the partial index lets the
-- same key be added again meanwhile, under a new id.
CREATE TABLE rollup_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT    NOT NULL,
    from_id      INTEGER NOT NULL,
    counted_from INTEGER NOT NULL,
    low_id       INTEGER NOT NULL,
    ready        INTEGER NOT NULL DEFAULT 0,
    removed      INTEGER NOT NULL DEFAULT 0,
    added_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX rollup_keys_kept ON rollup_keys (key) WHERE removed = 0;

-- +goose Down
DROP TABLE rollup_keys;
