-- +goose Up
-- The property keys the rollups also count events by (store.RollupKeys).
-- A key's rollup rows have the dimension '#' and its id. The events with
-- id >= counted_from are counted: the writers count those stored since
-- the key was added (from_id on; the statement that inserts a batch reads
-- this table), and the filler walks counted_from down over the older
-- ones, a chunk at a time, to low_id (the oldest event when the key was
-- added); then the key is ready. A removed key stays here until the
-- filler has deleted its rows; the partial index lets the same key be
-- added again meanwhile, under a new id.
CREATE TABLE rollup_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key          text        NOT NULL,
    from_id      bigint      NOT NULL,
    counted_from bigint      NOT NULL,
    low_id       bigint      NOT NULL,
    ready        boolean     NOT NULL DEFAULT false,
    removed      boolean     NOT NULL DEFAULT false,
    added_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX rollup_keys_kept ON rollup_keys (key) WHERE NOT removed;

-- +goose Down
DROP TABLE rollup_keys;
