-- +goose Up
-- The event explorer filters by user, type or session and pages newest
-- first by id: one (column, id) index per filter keeps each page an index
-- range scan at any table size. Every index costs each insert, so the rest
-- of the filters (element_id, time range, text) scan a bounded id window
-- instead (store.SearchWindow).
CREATE INDEX events_user_id_id ON events (user_id, id);
CREATE INDEX events_event_type_id ON events (event_type, id);
CREATE INDEX events_session_id_id ON events (session_id, id);

-- What the per-message timeline shows beyond the processing log: when the
-- record was fetched, its failed attempts (JSON, NULL when none) and the
-- dead-letter record it replays.
ALTER TABLE messages ADD COLUMN fetched_at INTEGER;
ALTER TABLE messages ADD COLUMN attempts TEXT;
ALTER TABLE messages ADD COLUMN replay_of TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE messages DROP COLUMN replay_of;
ALTER TABLE messages DROP COLUMN attempts;
ALTER TABLE messages DROP COLUMN fetched_at;
DROP INDEX events_session_id_id;
DROP INDEX events_event_type_id;
DROP INDEX events_user_id_id;
