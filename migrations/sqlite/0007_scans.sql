-- Consumer scans: one row per verification of a decodable token, written in group commits by
-- `scans::ScanRecorder`. High-volume observations, kept out of the log: rows are only ever
-- inserted, and deleted by the retention purge. `serial` holds the u64 serial's bits as a
-- signed 64-bit integer; `scanned_at` is the log's timestamp format, so text order is time
-- order; `region` is a GB/T 2260 code (county at the finest), `client` the hex SHA-256 of a
-- salted client address, never the address itself.
-- AUTOINCREMENT so a purge that empties the table never lets a later scan reuse an id.
CREATE TABLE scans (
    scan_id INTEGER PRIMARY KEY AUTOINCREMENT,
    serial INTEGER NOT NULL,
    scanned_at TEXT NOT NULL,
    region TEXT,
    verdict TEXT NOT NULL,
    client TEXT NOT NULL
);
-- Detection reads one serial's scans by time; the retention purge deletes by time.
CREATE INDEX scans_serial_time ON scans (serial, scanned_at);
CREATE INDEX scans_time ON scans (scanned_at);
