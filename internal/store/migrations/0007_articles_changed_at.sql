-- 0007: when the article set last changed (unix seconds), set with every
-- articles_version bump, so that a restarted server never dates a feed
-- before a change it did not see (see DB.ArticlesChangedAt).
--
-- An existing database's history is unknown: the newest article may have
-- been retracted a moment ago. Its changes are dated when the migration
-- runs, which can only make a feed look newer (one extra full fetch for
-- If-Modified-Since clients), never older (a wrong 304). The newest
-- remaining article's date, or 0, would be earlier than a retraction that
-- already happened.
ALTER TABLE store_state ADD COLUMN articles_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE store_state SET articles_changed_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = 1;
