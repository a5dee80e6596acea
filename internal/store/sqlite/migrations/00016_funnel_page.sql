-- +goose Up
-- A funnel's step is most often a page_view on one page: with the page in
-- the index, the scan of a type's range filters on it there and never
-- reads the table (at 10 M events, the page_view scan of a 7-day funnel
-- took 0.98 s through the table, 0.22 s from the index alone). The entry
-- grows by the page, and nothing else is written. Rebuilding it reads the
-- whole table once, at the first start of this version.
DROP INDEX events_type_time;
CREATE INDEX events_type_time ON events (event_type, timestamp, user_id, page);

-- +goose Down
DROP INDEX events_type_time;
CREATE INDEX events_type_time ON events (event_type, timestamp, user_id);
