-- The `tokens` projection: access tokens by id, with the SHA-256 of the bearer token (never
-- the token) and the role and scope it grants. Built from AccessTokenCreated/Revoked events.
CREATE TABLE projection_tokens (
    token_id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    role TEXT NOT NULL,
    issuer TEXT,
    regions TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
