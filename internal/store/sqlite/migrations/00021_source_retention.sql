-- +goose Up
-- The cursors of the sources' own retention (store.Sources.RetainSources):
-- every event of the source with an id below judged_to has gone, so a
-- pass walks the ids from there, never the rows of other sources it kept.
CREATE TABLE source_retention (
    source_id TEXT    PRIMARY KEY,
    judged_to INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE source_retention;
