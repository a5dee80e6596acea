-- +goose Up
-- Saved insights (docs/insights.md): a page's parameters under a name,
-- pinned to the dashboard or not; times in microseconds.
CREATE TABLE saved_insights (
    id         TEXT PRIMARY KEY,
    name       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    query      TEXT    NOT NULL,
    pinned     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE saved_insights;
