-- 0005: operations (issue 7). Bearer tokens for the admin API. Only the
-- SHA-256 of a token is stored; the token is shown once at creation. A
-- revoked token keeps its row, so a client still using it is told it was
-- revoked (403) rather than unknown (401).
CREATE TABLE api_tokens (
    name       TEXT PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER                 -- NULL while the token is valid
);
