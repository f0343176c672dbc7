-- Scans by month (issue 15): `scans` becomes a table partitioned by range of `scanned_at`, one
-- partition per calendar month, `scans_YYYY_MM`, from the first day of its month to the first
-- day of the next. The bounds are text ('2026-12-01'): the log's timestamps compare bytewise
-- (COLLATE "C") in time order, and a date sorts before every timestamp of that day. A DEFAULT
-- partition, `scans_default`, takes any scan no month covers, so an insert never fails for want
-- of a partition. The service creates each month's partition ahead of time and retention drops
-- whole months (`ScanStore::add_partitions` and `purge_scans`, src/storage/scans.rs).
--
-- Kept ready for Citus (`create_distributed_table('scans', 'serial')`, docs/scale.md), so that
-- sharding by serial changes no table:
-- - the one unique constraint, the primary key, holds the distribution column `serial` and the
--   partition column `scanned_at`: (serial, scanned_at, scan_id). It is detection's index too,
--   a serial's scans in time order, so the old (serial, scanned_at) index goes;
-- - no foreign key leads to or from scans, and no statement joins it to anything: every read
--   names serials (detection, a mark's page) or a time range (retention), so each runs on the
--   shards of its serials alone;
-- - `scan_id` stays a BIGINT identity: unique by its sequence, not by a constraint, which Citus
--   could not enforce across shards without the distribution column.
-- Only the default partition keeps an index on time alone, for the chunked purge of the scans
-- it caught; a month is dropped whole and needs none.
--
-- Existing rows are copied into the partitions of their months with their ids, and the new
-- identity continues from the old one's last value, so no id is ever handed out twice. The copy
-- takes time in proportion to the table (72 s for 10 million scans on the 2-vCPU development
-- machine) and holds the table meanwhile: upgrade at a quiet hour.
ALTER TABLE scans RENAME TO scans_0007;
ALTER INDEX scans_pkey RENAME TO scans_0007_pkey;
ALTER SEQUENCE scans_scan_id_seq RENAME TO scans_0007_scan_id_seq;

CREATE TABLE scans (
    scan_id BIGINT GENERATED ALWAYS AS IDENTITY,
    serial BIGINT NOT NULL,
    scanned_at TEXT COLLATE "C" NOT NULL,
    region TEXT,
    verdict TEXT NOT NULL,
    client TEXT NOT NULL,
    PRIMARY KEY (serial, scanned_at, scan_id)
) PARTITION BY RANGE (scanned_at);

CREATE TABLE scans_default PARTITION OF scans DEFAULT;
CREATE INDEX scans_default_time ON scans_default (scanned_at);

-- A partition for every month the existing scans fall in, so none of them lands in the
-- default partition (where it would keep the service from creating its month later).
DO $$
DECLARE
    month DATE;
BEGIN
    FOR month IN SELECT DISTINCT to_date(left(scanned_at, 7), 'YYYY-MM') FROM scans_0007 LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF scans FOR VALUES FROM (%L) TO (%L)',
            to_char(month, '"scans_"YYYY_MM'),
            to_char(month, 'YYYY-MM-DD'),
            to_char(month + INTERVAL '1 month', 'YYYY-MM-DD')
        );
    END LOOP;
END
$$;

INSERT INTO scans (scan_id, serial, scanned_at, region, verdict, client) OVERRIDING SYSTEM VALUE
SELECT scan_id, serial, scanned_at, region, verdict, client FROM scans_0007;

SELECT setval(pg_get_serial_sequence('scans', 'scan_id'), last_value, is_called)
FROM scans_0007_scan_id_seq;

DROP TABLE scans_0007;
