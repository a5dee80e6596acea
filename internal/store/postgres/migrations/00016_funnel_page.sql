-- +goose Up
-- A funnel's step is most often a page_view on one page: with the page
-- included, the scan of a type's range filters on it in the index and,
-- once the pages are all-visible, never visits the heap. The entry grows
-- by the page, and nothing else is written. Rebuilding it reads the whole
-- table once, at the first start of this version.
DROP INDEX events_type_time;
CREATE INDEX events_type_time ON events (event_type, "timestamp") INCLUDE (user_id, page);

-- +goose Down
DROP INDEX events_type_time;
CREATE INDEX events_type_time ON events (event_type, "timestamp") INCLUDE (user_id);
