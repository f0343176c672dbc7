#!/usr/bin/env bash
# Case C (junk tokens) of run.sh for two builds of marktrace, alternating, so that the drift of
# a shared machine falls on both alike: ROUNDS rounds, each a fresh empty SQLite service per
# build driven by `wrk -t2 -c64 -d10s` with junk.lua (junk never reaches the registry). Prints
# requests per second and the server's CPU per request for each run.
#
#   benches/load/interleaved.sh BEFORE_BINARY AFTER_BINARY     (ROUNDS, default 3)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-3}
TICK=$(getconf CLK_TCK)
declare -A BIN=([before]=$1 [after]=$2)
for ((round = 1; round <= ROUNDS; round++)); do
    for which in before after; do
        dir=$(mktemp -d)
        port=$((20000 + RANDOM % 10000))
        "${BIN[$which]}" --config /dev/null --database-url "sqlite://$dir/db.sqlite" \
            --keys-dir "$dir/keys" --listen "127.0.0.1:$port" \
            --public-url "http://127.0.0.1:$port" --public-rate 0 serve >"$dir/log" 2>&1 &
        pid=$!
        until curl -sf "127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
        t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        out=$(wrk -t2 -c64 -d10s -H 'Accept: application/json' -s "$HERE/junk.lua" \
            "http://127.0.0.1:$port" -- 140 20000)
        t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        requests=$(awk '/requests in/ {print $1}' <<<"$out")
        rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        awk -v r="$round" -v w="$which" -v rate="$rate" -v ticks=$((t1 - t0)) -v tick="$TICK" \
            -v n="$requests" 'BEGIN { printf "round %d %s: %s req/s, %.1f µs of server CPU per request\n", r, w, rate, ticks * 1e6 / tick / n }'
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        rm -rf "$dir"
    done
done
