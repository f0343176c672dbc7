#!/usr/bin/env bash
# The fault suite of issue 15: marktrace under load while its processes, its database and its
# disk fail, judged on what clients saw and on what survived. Loopback only, as root (it runs
# PostgreSQL as the `postgres` user, mounts a tmpfs and an ext4 image on a loop device).
#
# This script prepares and cleans up; tests/faults/suite.py runs the cases and judges them:
#   - builds the binary (`cargo build`: the debug build `cargo test` already made in CI, whose
#     hashing and signatures are optimised all the same), installs nginx from Debian's
#     packages when missing;
#   - runs a private PostgreSQL 15 cluster (initdb as `postgres` into the work directory, on a
#     free port from 55432 up, trust on loopback), which the suite stops and restarts at will:
#     the shared server on 5432 is never touched;
#   - starts suite.py under a deadline (FAULTS_DEADLINE, default 540 s), which starts three
#     `marktrace serve` nodes on that cluster behind nginx, seeds a world, drives a mixed load
#     (tests/faults/load.py) through the front and runs the cases: (a) kill -9 of a node and
#     its restart, (b) PostgreSQL restarted, (c) PostgreSQL stopped for 45 s, then (d) a single
#     node on SQLite whose disk fills up (a small tmpfs) and whose filesystem turns read-only
#     (an ext4 image on a loop device; see suite.py for why not the tmpfs);
#   - on any exit, failure or interrupt alike (trap): stops every process the suite started
#     (their pids are in the work directory), the cluster, unmounts what it mounted, detaches
#     its loop device and deletes the work directory.
# Exits non-zero when any case misses a bound; the summary table is printed and written to
# target/faults/summary.md, beside the nodes' and nginx's logs and every answer the load saw
# (target/faults/answers.jsonl). About two minutes once the binary is built. FAULTS_OUTAGE
# (seconds, default 45) shortens case (c) to try the suite out; such a run proves nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

PG_BIN=/usr/lib/postgresql/15/bin
DEADLINE="${FAULTS_DEADLINE:-540}"
# How long cleanup waits for a process to stop after SIGTERM before it sends SIGKILL.
STOP_DEADLINE=10
started=$SECONDS

if ! command -v nginx >/dev/null 2>&1; then
    echo "installing nginx from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
fi
[[ -x "$PG_BIN/initdb" ]] || { echo "error: PostgreSQL 15 binaries are not in $PG_BIN" >&2; exit 1; }

cargo build --quiet
target_dir=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/debug/marktrace"

report="$PWD/target/faults"
rm -rf "$report"
mkdir -p "$report"

work=$(mktemp -d -t marktrace-faults.XXXXXX)
# The postgres user must reach its data directory inside the work directory.
chmod 711 "$work"
mkdir -p "$work/pids" "$work/mounts" "$work/pg"
chown postgres: "$work/pg"
as_postgres() { runuser -u postgres -- "$@"; }

suite=
cleanup() {
    local status=$? pidfile pid waited
    trap - EXIT INT TERM
    # The suite first, so that it starts nothing more (timeout passes the signal on to it).
    if [[ -n "$suite" ]] && kill -TERM "$suite" 2>/dev/null; then
        wait "$suite" || true
    fi
    for pidfile in "$work"/pids/*; do
        [[ -e "$pidfile" ]] || continue
        pid=$(<"$pidfile")
        kill -TERM "$pid" 2>/dev/null || continue
        waited=$SECONDS
        while kill -0 "$pid" 2>/dev/null && (( SECONDS - waited < STOP_DEADLINE )); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [[ -e "$work/pg/data/postmaster.pid" ]]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$work/pg/data" stop -m immediate -w >/dev/null 2>&1 || true
    fi
    # suite.py names each mount point (and the loop device under it) in mounts/ as it mounts it.
    local mount device
    for mount in "$work"/mounts/*; do
        [[ -e "$mount" ]] || continue
        read -r target device <"$mount" || true
        if mountpoint -q "$target"; then umount -l "$target" || true; fi
        if [[ -n "${device:-}" ]]; then losetup -d "$device" 2>/dev/null || true; fi
    done
    rm -rf "$work"
    echo "fault suite: $(( SECONDS - started )) s"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port for the cluster, from 55432 up.
pg_port=$(python3 - <<'EOF'
import socket
for port in range(55432, 55532):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
EOF
)
as_postgres "$PG_BIN/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
cat >>"$work/pg/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work/pg'
max_connections = 200
EOF
# The server's log goes beside the suite's others; the postgres user writes it.
install -o postgres -m 600 /dev/null "$report/postgresql.log"
as_postgres "$PG_BIN/pg_ctl" -D "$work/pg/data" -l "$report/postgresql.log" -w -t 60 start >/dev/null
as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" marktrace

# In the background, waited for, so that a signal to this script runs the cleanup at once
# (bash runs a trap only between commands, and timeout keeps the suite out of this process
# group).
MARKTRACE_BIN="$bin" FAULTS_WORK="$work" FAULTS_REPORT="$report" \
    FAULTS_PG_CTL="$PG_BIN/pg_ctl" FAULTS_PG_DATA="$work/pg/data" FAULTS_PG_PORT="$pg_port" \
    FAULTS_PG_LOG="$report/postgresql.log" \
    PYTHONDONTWRITEBYTECODE=1 \
    timeout --signal=TERM --kill-after=20 "$DEADLINE" python3 tests/faults/suite.py &
suite=$!
status=0
wait "$suite" || status=$?
suite=
if (( status == 124 )); then
    echo "the fault suite did not finish within $DEADLINE s" >&2
fi
exit "$status"
