-- +goose Up
-- Funnels and retention read the events of a type over a time range, in
-- time order, and mostly only who and when: with the user included, such
-- a read can be answered from the index. Per type, the newest events land
-- at the end of the type's range, so inserts stay on the index's right
-- edges at any table size.
CREATE INDEX events_type_time ON events (event_type, "timestamp") INCLUDE (user_id);

-- +goose Down
DROP INDEX events_type_time;
