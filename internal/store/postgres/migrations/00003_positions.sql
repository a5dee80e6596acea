-- +goose Up
-- Where the records written end, per topic and partition, moved in the
-- same transaction as each batch: at start, a consumer group's committed
-- offset above it says the database lost what it had written (see
-- store.Positions). Filled from the processing log once, here: one scan
-- of messages at the first start after the upgrade.
CREATE TABLE positions (
    topic       text   NOT NULL,
    "partition" int4   NOT NULL,
    next_offset int8   NOT NULL,
    PRIMARY KEY (topic, "partition")
);
INSERT INTO positions (topic, "partition", next_offset)
SELECT topic, "partition", MAX("offset") + 1 FROM messages WHERE topic <> '' GROUP BY topic, "partition";

-- +goose Down
DROP TABLE positions;
