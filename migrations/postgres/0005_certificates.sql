-- The `certificates` projection: each certificate's application, stored state (expiry is
-- derived from valid_until when read) and, once issued, its code and validity. Built from
-- the Certificate* events.
CREATE TABLE projection_certificates (
    certificate_id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    enterprise_uscc TEXT NOT NULL,
    product_name TEXT NOT NULL,
    product_category TEXT NOT NULL,
    standard TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT NOT NULL,
    code TEXT UNIQUE,
    valid_from TEXT,
    valid_until TEXT,
    applied_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
