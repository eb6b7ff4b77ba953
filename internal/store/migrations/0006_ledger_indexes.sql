-- 0006: one index fewer to rewrite on every delivery state change.
-- deliveries_edition_state (edition_id, state, id) is a prefix of what
-- deliveries_claim and deliveries_retry already order by, and SQLite picks
-- those for every query on (edition_id, state); a delivery run changes each
-- row's state twice (queued -> sending -> sent), and each change rewrote
-- the entry in all three indexes that hold state.
DROP INDEX IF EXISTS deliveries_edition_state;
