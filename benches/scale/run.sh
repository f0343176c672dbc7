#!/usr/bin/env bash
# Scans at national scale (issue 15): 100,000,000 synthetic scans in a fresh PostgreSQL
# database, loaded with generate_series into the service's own partitioned table, then the
# figures docs/scale.md and BENCHMARKS.md quote:
#
#   1. the service's insert rate on the empty table (benches/scale/probe.rs: insert_scans,
#      1,000 scans a transaction, INSERT_SECONDS), the baseline of step 4;
#   2. the bulk load: SCANS scans by INSERT ... SELECT FROM generate_series, CHUNK rows a
#      transaction, in time order as the service appends them, over the DAYS before now; then
#      VACUUM ANALYZE (what autovacuum would do in time);
#   3. table and index sizes, per partition and in all;
#   4. the service's insert rate again at full size;
#   5. detection's read (scans_of through the service's code, its bound of 1,000 scans, the
#      default 365-day retention): p50/p99/p99.9 over RUNS reads of one quiet serial, one busy
#      serial and 256 quiet serials in one statement;
#   6. EXPLAIN (ANALYZE, BUFFERS) of that statement: as the service first plans it (custom plan,
#      pruned at planning), as its prepared statement runs from the sixth execution (generic
#      plan, pruned at start-up: "Subplans Removed"), and with a 90-day bound to show the months
#      a shorter look-back skips.
#
# The data: 1% of the scans go to BUSY serials (10,000 scans each at 100M: labels copied onto
# many products), the other 99% to serials drawn uniformly from QUIET (50,000,000: about two
# scans a label, most labels scanned once or twice); regions from Jiangxi's prefectures and
# counties, one in twelve scans without a region; one scan in a thousand `forged`; client hashes
# 64 hex characters like the real ones. Random draws use a fixed seed per chunk, so a rerun
# loads the same scans (relative to its start time).
#
#   benches/scale/run.sh          about 40 minutes on the 2-core development machine
#
# Environment: PG_URL (postgres://postgres@127.0.0.1:5432/test) names the server, whose
# database SCALE_DB (scale100m) is created fresh and dropped at the end, also on failure;
# SCANS (100000000), CHUNK (1000000), DAYS (365), BUSY (100), QUIET (50000000), RUNS (5000),
# INSERT_SECONDS (30); RESULTS (target/scale) gets the output, summary.txt and the plans.
# PostgreSQL runs as configured (the development machine's is Debian's default: shared_buffers
# 128 MB), so the figures are those of an untuned server.
set -euo pipefail

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
SCALE_DB=${SCALE_DB:-scale100m}
SCANS=${SCANS:-100000000}
CHUNK=${CHUNK:-1000000}
DAYS=${DAYS:-365}
BUSY=${BUSY:-100}
QUIET=${QUIET:-50000000}
RUNS=${RUNS:-5000}
INSERT_SECONDS=${INSERT_SECONDS:-30}

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RESULTS=${RESULTS:-$TARGET_DIR/scale}
DB_URL="${PG_URL%/*}/$SCALE_DB"
SUMMARY=$RESULTS/summary.txt

for tool in psql cargo; do
    command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/marktrace-scale.XXXXXX)
cleanup() {
    rm -rf "$WORK"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $SCALE_DB WITH (FORCE)" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$RESULTS"
: >"$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }
sql() { psql "$DB_URL" -qAtX -v ON_ERROR_STOP=1 "$@"; }

echo "building (release)"
(cd "$ROOT" && cargo build --release --quiet --bin marktrace --example scale_probe)
MARKTRACE=$TARGET_DIR/release/marktrace
PROBE=$TARGET_DIR/release/examples/scale_probe

note "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM;" \
    "$(psql "$PG_URL" -qAtXc 'SELECT version()' | cut -d' ' -f1-2);" \
    "shared_buffers $(psql "$PG_URL" -qAtXc 'SHOW shared_buffers')"
note "run: $(date -u +%FT%TZ) at $(cd "$ROOT" && git rev-parse --short HEAD)," \
    "SCANS=$SCANS CHUNK=$CHUNK DAYS=$DAYS BUSY=$BUSY QUIET=$QUIET RUNS=$RUNS"

psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $SCALE_DB WITH (FORCE)"
psql "$PG_URL" -qc "CREATE DATABASE $SCALE_DB"
# The service's migrations, as any marktrace command runs them on first use.
"$MARKTRACE" --config /dev/null --database-url "$DB_URL" --keys-dir "$WORK/keys" \
    --log-origin scale.example/log init >"$RESULTS/init.log" 2>&1
"$PROBE" partitions "$DB_URL" "$DAYS"

note "== 1. the service's inserts, empty table"
"$PROBE" inserts "$DB_URL" "$INSERT_SECONDS" | tee -a "$SUMMARY"
sql -c "TRUNCATE scans"

note "== 2. bulk load"
START=$(($(date +%s) - DAYS * 86400))
SPAN=$((DAYS * 86400))
REGIONS="ARRAY['360102','360402','360702','361102','360502','360602','360802','360902',\
'361002','360202','360302',NULL]"
loaded=0
load_start=$(date +%s.%N)
for ((chunk = 0; chunk * CHUNK < SCANS; chunk++)); do
    first=$((chunk * CHUNK))
    last=$((first + CHUNK - 1 < SCANS - 1 ? first + CHUNK - 1 : SCANS - 1))
    sql >/dev/null <<SQL
SELECT setseed($chunk::float8 / $((SCANS / CHUNK + 1)));
INSERT INTO scans (serial, scanned_at, region, verdict, client)
SELECT CASE WHEN i % 100 = 0 THEN 1 + (i / 100) % $BUSY
            ELSE $BUSY + 1 + floor(random() * $QUIET)::bigint END,
       to_char(to_timestamp($START + i * ($SPAN::float8 / $SCANS)) AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       ($REGIONS)[1 + i % 12],
       CASE WHEN i % 1000 = 7 THEN 'forged' ELSE 'genuine' END,
       lpad(to_hex(hashint8(i)), 64, '0')
FROM generate_series($first::bigint, $last::bigint) AS i;
SQL
    loaded=$((last + 1))
    if ((chunk % 10 == 9 || loaded == SCANS)); then
        echo "$(date -u +%T) $loaded scans loaded"
    fi
done
load_end=$(date +%s.%N)
note "loaded $SCANS scans in $(echo "$load_end - $load_start" | bc | xargs printf '%.0f') s:" \
    "$(echo "$SCANS / ($load_end - $load_start)" | bc) scans/s"
vacuum_start=$(date +%s)
sql -c "VACUUM ANALYZE scans"
note "VACUUM ANALYZE: $(($(date +%s) - vacuum_start)) s"

note "== 3. sizes"
sql -F ' ' <<'SQL' | tee -a "$SUMMARY"
SELECT rpad(t.relid::text, 14), to_char(c.reltuples, 'FM999,999,999') || ' scans',
       'table ' || pg_size_pretty(pg_table_size(t.relid)),
       'indexes ' || pg_size_pretty(pg_indexes_size(t.relid))
FROM pg_partition_tree('scans') t JOIN pg_class c ON c.oid = t.relid
WHERE t.isleaf ORDER BY t.relid::text;
SELECT 'all', to_char(sum(c.reltuples), 'FM999,999,999') || ' scans',
       'table ' || pg_size_pretty(sum(pg_table_size(t.relid))),
       'indexes ' || pg_size_pretty(sum(pg_indexes_size(t.relid))),
       round(sum(pg_table_size(t.relid) + pg_indexes_size(t.relid)) / sum(c.reltuples)) ||
       ' bytes a scan'
FROM pg_partition_tree('scans') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf;
SQL

note "== 4. the service's inserts at full size"
"$PROBE" inserts "$DB_URL" "$INSERT_SECONDS" | tee -a "$SUMMARY"

note "== 5. detection's reads"
"$PROBE" reads "$DB_URL" "$QUIET" "$BUSY" "$RUNS" | tee -a "$SUMMARY"

note "== 6. plans"
# The statement scans_of runs on PostgreSQL (src/storage/scans.rs, SELECT_SCANS, with
# detection's limit of 1,000), prepared as sqlx prepares it.
SELECT_SCANS="SELECT scan_id, serial, scanned_at, region, verdict, client FROM
 (SELECT scan_id, serial, scanned_at, region, verdict, client, ROW_NUMBER() OVER
 (PARTITION BY serial ORDER BY scanned_at DESC, scan_id DESC) AS newest
 FROM scans WHERE serial = ANY(\$1::text::bigint[]) AND scanned_at >= \$2) ranked
 WHERE newest <= 1000 ORDER BY serial, scanned_at DESC, scan_id DESC"
since() { date -u -d "-$1 days" +%Y-%m-%dT%H:%M:%S.000000Z; }
quiet=$(sql -c "SELECT serial FROM scans WHERE serial > $BUSY LIMIT 1")
plan() { # title, plan_cache_mode, serial, bound in days
    echo "-- $1"
    sql <<SQL
SET plan_cache_mode = $2;
PREPARE scans_of(text, text) AS $SELECT_SCANS;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE scans_of('{$3}', '$(since "$4")');
SQL
}
{
    plan "a quiet serial ($quiet), 365 days, custom plan" force_custom_plan "$quiet" 365
    plan "a quiet serial ($quiet), 365 days, generic plan" force_generic_plan "$quiet" 365
    plan "a busy serial (1), 365 days, custom plan" force_custom_plan 1 365
    plan "a quiet serial ($quiet), 90 days, generic plan" force_generic_plan "$quiet" 90
} >"$RESULTS/plans.txt"
grep -E '^-- |Subplans Removed|Execution Time|Planning Time' "$RESULTS/plans.txt" \
    | tee -a "$SUMMARY"
# The partitions a plan reads: those its scans name ("on scans_2026_11", "on scans_default").
read_by() { plan x force_custom_plan "$quiet" "$1" | grep -oE ' on scans_[0-9a-z_]+' \
    | sed 's/_pkey$//' | sort -u | wc -l; }
note "partitions read: $(read_by 365) with the 365-day bound, $(read_by 90) with a 90-day one," \
    "of $(sql -c "SELECT count(*) FROM pg_partition_tree('scans') WHERE isleaf")"
echo "results in $RESULTS"
