-- The `issuers` projection: certification bodies as registered by the brand authority, with
-- their current status. Built from IssuerRegistered/Suspended/Reinstated events.
CREATE TABLE projection_issuers (
    issuer_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    brand TEXT NOT NULL,
    region TEXT NOT NULL,
    status TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
