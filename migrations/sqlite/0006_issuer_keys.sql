-- The `issuer_keys` projection: every issuer key with its root endorsement and current status
-- (added, active, retired, compromised). Built from the IssuerKey* events; the private halves
-- live only in the keys directory.
CREATE TABLE projection_issuer_keys (
    key_id TEXT PRIMARY KEY,
    issuer_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    not_after BIGINT NOT NULL,
    endorsement TEXT NOT NULL,
    status TEXT NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX projection_issuer_keys_issuer ON projection_issuer_keys (issuer_id);
