-- 0001_init: the foundation schema. Sections, articles, hourly article
-- views, a change counter for feeds, and the first columns of subscribers,
-- editions and deliveries (later migrations add to them; never edit this
-- file once landed).

CREATE TABLE sections (
    slug        TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0
);

-- Times are unix seconds (UTC) plus the original UTC offset in seconds, so
-- an article reads back with the instant and offset it was imported with.
-- authors, related and tags are JSON arrays: they are always read and
-- written with the whole article, never queried on their own.
CREATE TABLE articles (
    seq              INTEGER PRIMARY KEY,        -- internal key that other tables reference
    id               TEXT NOT NULL UNIQUE,       -- the CMS id
    url              TEXT NOT NULL,
    section          TEXT NOT NULL REFERENCES sections (slug),
    title            TEXT NOT NULL,
    lead             TEXT NOT NULL DEFAULT '',
    body_html        TEXT NOT NULL,
    dateline         TEXT NOT NULL DEFAULT '',
    authors          TEXT NOT NULL DEFAULT '[]',
    published_at     INTEGER NOT NULL,
    published_offset INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL,
    updated_offset   INTEGER NOT NULL DEFAULT 0,
    image_url        TEXT,                       -- NULL when the article has no image
    image_caption    TEXT NOT NULL DEFAULT '',
    image_credit     TEXT NOT NULL DEFAULT '',
    image_type       TEXT NOT NULL DEFAULT '',
    image_width      INTEGER NOT NULL DEFAULT 0,
    image_height     INTEGER NOT NULL DEFAULT 0,
    image_length     INTEGER NOT NULL DEFAULT 0,
    related          TEXT NOT NULL DEFAULT '[]', -- [{"title":..,"url":..}]
    tags             TEXT NOT NULL DEFAULT '[]',
    top_story        INTEGER NOT NULL DEFAULT 0 CHECK (top_story IN (0, 1)),
    content_hash     BLOB NOT NULL               -- over every field but updated_at
);

-- "Latest N of a section" and "latest N overall": newest first, ties by id.
CREATE INDEX articles_section_published ON articles (section, published_at DESC, id);
CREATE INDEX articles_published ON articles (published_at DESC, id);
-- "Top stories": a partial index holds only the flagged articles.
CREATE INDEX articles_top_published ON articles (published_at DESC, id) WHERE top_story = 1;

-- Page views in hourly buckets; hour is the unix second the hour starts.
CREATE TABLE article_views (
    article_seq INTEGER NOT NULL REFERENCES articles (seq) ON DELETE CASCADE,
    hour        INTEGER NOT NULL,
    count       INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (article_seq, hour)
) WITHOUT ROWID;
-- "Most read in a window": a covering range scan over the window's hours.
CREATE INDEX article_views_hour ON article_views (hour, article_seq, count);

-- One row; articles_version goes up with every write that can change a
-- feed (see DB.ChangeMark).
CREATE TABLE store_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    articles_version INTEGER NOT NULL
);
INSERT INTO store_state (id, articles_version) VALUES (1, 0);

CREATE TABLE subscribers (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL,
    email_key  TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'pending',
    created_at INTEGER NOT NULL
);

CREATE TABLE editions (
    id         INTEGER PRIMARY KEY,
    date       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    edition_id    INTEGER NOT NULL REFERENCES editions (id),
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    state         TEXT NOT NULL DEFAULT 'queued',
    UNIQUE (edition_id, subscriber_id)
);
