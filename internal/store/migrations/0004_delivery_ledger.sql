-- 0004: the delivery ledger (issue 6). Each delivery row records its way
-- through queued -> sending -> sent | deferred | failed | skipped | unknown,
-- with attempts, the retry time, the server's reply and the last error.
-- A lease per edition keeps two processes from sending one edition at once;
-- bounce_events keeps every bounce and complaint matched to a delivery;
-- digest_slots remembers which scheduled slots ran or were missed.

-- Times are unix seconds (UTC); NULL means "not yet".
ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- When the row may first be sent: the edition's slot, or the reader's own
-- delivery hour. NULL until the first delivery run fixes it.
ALTER TABLE deliveries ADD COLUMN due_at INTEGER;
ALTER TABLE deliveries ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE deliveries ADD COLUMN claimed_at INTEGER;
ALTER TABLE deliveries ADD COLUMN sent_at INTEGER;
ALTER TABLE deliveries ADD COLUMN updated_at INTEGER;
-- The server's reply to a sent message ("250 2.0.0 Ok: queued as ...").
ALTER TABLE deliveries ADD COLUMN reply TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN message_id TEXT NOT NULL DEFAULT '';

-- Claims walk the due rows of one edition in (due_at, id) order.
CREATE INDEX deliveries_claim ON deliveries (edition_id, state, due_at, id);
CREATE INDEX deliveries_retry ON deliveries (edition_id, state, next_attempt_at, id);
CREATE INDEX deliveries_subscriber ON deliveries (subscriber_id, id);

-- One live delivery run per edition: the database is the lock.
CREATE TABLE delivery_leases (
    edition_id INTEGER PRIMARY KEY REFERENCES editions (id),
    owner      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE bounce_events (
    id            INTEGER PRIMARY KEY,
    delivery_id   INTEGER NOT NULL REFERENCES deliveries (id),
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    kind          TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'delayed', 'complaint')),
    status        TEXT NOT NULL DEFAULT '',
    diagnostic    TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',
    -- Identifies the report so that importing a mailbox twice records it once.
    report_key    TEXT NOT NULL UNIQUE,
    at            INTEGER NOT NULL
);
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, id);

-- Scheduled digest slots: 'run' when a run started for the slot, 'missed'
-- when serve came up too late to catch it up.
CREATE TABLE digest_slots (
    slot_at     INTEGER PRIMARY KEY,
    date        TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('run', 'missed')),
    recorded_at INTEGER NOT NULL
);
