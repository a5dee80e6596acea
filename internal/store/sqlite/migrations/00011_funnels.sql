-- +goose Up
-- Funnels and retention read the events of a type over a time range, in
-- time order, and mostly only who and when: with the user in the index,
-- such a read touches the index alone. Per type, the newest events land
-- at the end of the type's range, so an insert touches one leaf per type
-- of its transaction, at any table size. Building it reads the whole table
-- once, at the first start of this version.
CREATE INDEX events_type_time ON events (event_type, timestamp, user_id);

-- +goose Down
DROP INDEX events_type_time;
