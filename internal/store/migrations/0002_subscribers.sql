-- 0002: subscriptions (issue 4). Completes the subscribers table from 0001,
-- adds the sections each reader chose, the append-only consent log and a
-- settings table for the generated link-signing secret.

-- Times are unix seconds (UTC); NULL means "never".
ALTER TABLE subscribers ADD COLUMN confirmed_at INTEGER;
ALTER TABLE subscribers ADD COLUMN unsubscribed_at INTEGER;
-- Local hour for the digest, -1 = the newsroom's schedule.
ALTER TABLE subscribers ADD COLUMN delivery_hour INTEGER NOT NULL DEFAULT -1
    CHECK (delivery_hour BETWEEN -1 AND 23);
-- IANA zone name for delivery_hour, '' = the newsroom's zone.
ALTER TABLE subscribers ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
ALTER TABLE subscribers ADD COLUMN paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1));
-- When the last confirmation or "already subscribed" email went out: repeated
-- sign-ups of one address send at most one email per throttle period.
ALTER TABLE subscribers ADD COLUMN notified_at INTEGER;
-- GDPR erasure: the row stays (the consent log refers to it) but email,
-- name and choices are wiped and email_key becomes 'erased:<id>'.
ALTER TABLE subscribers ADD COLUMN erased_at INTEGER;

CREATE INDEX subscribers_status ON subscribers (status, id);

-- 0001 could not constrain status; these triggers do.
CREATE TRIGGER subscribers_status_insert BEFORE INSERT ON subscribers
WHEN NEW.status NOT IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained')
BEGIN
    SELECT RAISE(ABORT, 'subscribers.status: unknown status');
END;
CREATE TRIGGER subscribers_status_update BEFORE UPDATE OF status ON subscribers
WHEN NEW.status NOT IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained')
BEGIN
    SELECT RAISE(ABORT, 'subscribers.status: unknown status');
END;

-- The sections a reader chose; none = all sections.
CREATE TABLE subscriber_sections (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    section       TEXT NOT NULL REFERENCES sections (slug),
    PRIMARY KEY (subscriber_id, section)
) WITHOUT ROWID;
CREATE INDEX subscriber_sections_section ON subscriber_sections (section, subscriber_id);

-- Every sign-up, confirmation, preference change, unsubscribe and erasure:
-- evidence of consent. Rows are never changed or removed, not even by
-- erasure (which appends an 'erase' row); the triggers enforce it.
CREATE TABLE consent_log (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    at            INTEGER NOT NULL,
    action        TEXT NOT NULL,
    source        TEXT NOT NULL,
    form_version  TEXT NOT NULL DEFAULT '',
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consent_log_subscriber ON consent_log (subscriber_id, id);

CREATE TRIGGER consent_log_no_update BEFORE UPDATE ON consent_log
BEGIN
    SELECT RAISE(ABORT, 'consent_log is append-only');
END;
CREATE TRIGGER consent_log_no_delete BEFORE DELETE ON consent_log
BEGIN
    SELECT RAISE(ABORT, 'consent_log is append-only');
END;

-- Server settings kept in the database, e.g. the generated secret that
-- signs subscription links.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
