-- Enterprises are licensees of an issuer (issue 11): one row per (USCC, issuer), since one
-- legal entity may be the client of several certification bodies. `licence` is
-- `<uscc>:<issuer>`, the page key (neither part holds a `:`). The read model is rebuilt
-- from the log: its position goes back to the start.
DROP TABLE projection_enterprises;
CREATE TABLE projection_enterprises (
    licence TEXT PRIMARY KEY,
    uscc TEXT NOT NULL,
    legacy_code INTEGER NOT NULL,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at TEXT NOT NULL
);
CREATE INDEX projection_enterprises_by_issuer ON projection_enterprises (registered_by, licence);
DELETE FROM projection_positions WHERE name = 'enterprises';
