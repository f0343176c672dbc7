-- The `enterprises` projection: licensees by Unified Social Credit Code, built from
-- EnterpriseRegistered events.
CREATE TABLE projection_enterprises (
    uscc TEXT PRIMARY KEY,
    legacy_code BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at TEXT NOT NULL
);
