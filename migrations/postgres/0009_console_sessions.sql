-- Console sessions (`sessions::SessionStore`): the SHA-256 of a random session id a browser
-- holds in a cookie, never the id itself, and the access token it acts for (by id; the token's
-- secret is not kept here). Times are the log's timestamp format, so text order is time order.
CREATE TABLE console_sessions (
    session_sha256 TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
-- The purge of ended sessions.
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
