-- Idempotency keys (`app::idempotency::KeyStore`): a caller's key for one write, the request's
-- fingerprint (lowercase hex SHA-256), when it was first and last claimed (the log's timestamp
-- format, so text order is time order), and once the write ended, the answer its retries get.
-- `scope` names the caller (an access token's id, or a client address for anonymous writes),
-- so one caller's keys never meet another's.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    location TEXT,
    body BLOB,
    PRIMARY KEY (scope, key)
);
-- The purge of keys past their keeping time.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
