-- 0003: digest editions (issue 5). Completes editions and deliveries from
-- 0001. An edition's content (its sections with article snapshots and the
-- "Most read" list) is frozen at planning as one JSON document, so later
-- edits and imports never change an edition that is being sent or
-- archived. Deliveries freeze each reader's section choice.

-- The window is (window_from, cutoff], unix seconds (UTC).
ALTER TABLE editions ADD COLUMN window_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE editions ADD COLUMN cutoff INTEGER NOT NULL DEFAULT 0;
-- Articles in the section blocks, and the title the archive list shows.
ALTER TABLE editions ADD COLUMN article_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE editions ADD COLUMN top_title TEXT NOT NULL DEFAULT '';
-- {"sections":[{"slug":..,"title":..,"articles":[...]}],"most_read":[...]}
ALTER TABLE editions ADD COLUMN content TEXT NOT NULL DEFAULT '{}';

CREATE TRIGGER editions_frozen BEFORE UPDATE OF date, window_from, cutoff, article_count, top_title, content ON editions
BEGIN
    SELECT RAISE(ABORT, 'editions: a planned edition is frozen');
END;

-- The sections the reader had chosen when the edition was planned, as a
-- comma-separated list of slugs; '' means all sections.
ALTER TABLE deliveries ADD COLUMN sections TEXT NOT NULL DEFAULT '';
-- Why a delivery was skipped, e.g. no articles in the chosen sections.
ALTER TABLE deliveries ADD COLUMN reason TEXT NOT NULL DEFAULT '';

CREATE INDEX deliveries_edition_state ON deliveries (edition_id, state, id);
