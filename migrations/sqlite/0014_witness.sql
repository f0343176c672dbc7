-- Witnessing (`witnessing::WitnessStore`, C2SP tlog-witness). As a witness: per partner log
-- (by origin), the latest checkpoint this deployment cosigned, moved only by compare-and-set
-- on `size`. As a log: the cosignatures witnesses returned on our checkpoints, one per
-- witness (its verifier key) and size.
CREATE TABLE witnessed_logs (
    origin TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    root TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE log_cosignatures (
    size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
-- A witness's latest size, for the next request's `old`.
CREATE INDEX log_cosignatures_witness ON log_cosignatures (witness, size);
