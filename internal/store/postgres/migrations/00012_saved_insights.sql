-- +goose Up
-- Saved insights (docs/insights.md): a page's parameters under a name,
-- pinned to the dashboard or not.
CREATE TABLE saved_insights (
    id         TEXT PRIMARY KEY,
    name       TEXT        NOT NULL,
    kind       TEXT        NOT NULL,
    query      TEXT        NOT NULL,
    pinned     BOOLEAN     NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE saved_insights;
