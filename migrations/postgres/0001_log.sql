-- The event log. One row per event; the global index is the Merkle leaf index.
-- log_head is the single row every append transaction locks FOR UPDATE, which serialises
-- appends across every server process sharing the database; it holds the tree size and the
-- frontier: the hashes of the complete subtrees, largest first.
CREATE TABLE log_head (
    id SMALLINT PRIMARY KEY CHECK (id = 0),
    size BIGINT NOT NULL,
    frontier BYTEA NOT NULL
);
INSERT INTO log_head (id, size, frontier) VALUES (0, 0, '');

CREATE TABLE events (
    idx BIGINT PRIMARY KEY,
    event_id UUID NOT NULL UNIQUE,
    stream TEXT NOT NULL,
    version BIGINT NOT NULL,
    type TEXT NOT NULL,
    schema INTEGER NOT NULL,
    data TEXT NOT NULL,
    data_sha256 TEXT NOT NULL,
    actor TEXT,
    correlation_id UUID,
    causation_id UUID,
    recorded_at TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'confidential')),
    leaf_hash BYTEA NOT NULL,
    UNIQUE (stream, version)
);

-- The Merkle tree as C2SP tlog-tiles: tile `idx` of tile level `level` holds the hashes of
-- tree level 8 * level from index 256 * idx on, 32 bytes each, concatenated (level 0: the
-- leaf hashes). The rightmost tile of each level is partial and is rewritten, longer, by the
-- commit that extends it. Any proof or tile is a few of these rows.
CREATE TABLE tiles (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- One signed checkpoint (a C2SP signed note) per committed append transaction, stored in that
-- transaction; the primary key makes a second, different checkpoint of one size impossible.
CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note TEXT NOT NULL
);

-- Each projection's next log index to apply, updated in the transaction that writes its rows.
CREATE TABLE projection_positions (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);

CREATE TABLE projection_event_types (
    type TEXT PRIMARY KEY,
    count BIGINT NOT NULL
);
