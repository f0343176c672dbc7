#!/usr/bin/env bash
# The scan load benchmark: marktrace's label endpoint `GET /v/{token}` (Accept:
# application/json) under wrk, against two limits measured in the same run on the same machine:
#
#   nginx     nginx serving one small static JSON file (the bytes marktrace answers for a
#             genuine mark): what HTTP on loopback can do here. The limit of A and C.
#   baseline  benches/load/baseline.rs: axum doing one Ed25519 verify_strict of the token in the
#             path per request and nothing else: the crypto a first scan cannot avoid. The
#             limit of B.
#   A repeat  scans of the same 1,000 genuine marks, round-robin: repeat scans, all cached.
#   B fresh   scans of marks never presented before, a new token every request, marktrace
#             restarted just before so its signature cache is cold.
#   C junk    random base64url strings of a token's length.
#   A export  case A again while the 1,000,000-mark batch is exported as CSV through the API.
#
# Every run is `wrk -t2 -c64 -d10s --latency` (LIMITS.md's load: two threads for two cores, 64
# connections, enough to keep both cores busy, and 10 s, long enough for steady state and short
# enough to leave B unexhausted). wrk shares the two cores with the server it drives, so every
# figure is wrk plus server; the summary also gives CPU time per request of each side: the
# server's during the run ("server"), the server's until it is idle again ("to idle": marktrace
# goes on writing scans and running detection after wrk stops) and wrk's. For marktrace it also
# gives the scans committed and dropped (from /metrics) and how long it took to become idle.
# Each limit is measured just before the case held to it: nginx before A and before C (and once
# more at the end, to show drift), the baseline before B. nginx is also driven once with the Lua
# script of case A, whose per-request cost wrk then pays too.
#
# marktrace runs on SQLite in a fresh temporary data and keys directory with `--public-rate 0`
# (wrk is one client; the per-client limit would refuse it), its registry set up through the
# CLI and the HTTP API, and one batch of 1,000,000 marks issued with `marktrace issue` (a real
# large batch, and more distinct tokens than B can use in 10 s at the baseline's rate).
#
#   benches/load/run.sh              (as root: installs nginx, wrk and jq from Debian if missing)
#   benches/load/run.sh --postgres   the same, marktrace's database on PostgreSQL: a fresh
#                                    database on PG_URL's server, dropped afterwards
#   benches/load/run.sh --memory     instead of the cases: peak memory serving 10,000,000 marks
#                                    in 10,000 batches (made through the API) with 1,000,000
#                                    cached verdicts (first scans of the marks of 1,000 batches,
#                                    exported as CSV through the API); VmHWM from /proc
#
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (2), MARKS (1000000), PROFILE=1 to
# also record `perf` profiles of marktrace under A, B and C after the measured runs (separate
# runs: perf slows what it watches), RESULTS (target/load) for wrk's output and the summary,
# MARKTRACE_BIN to measure another build of marktrace (default: this tree's release build),
# QUIET_LOAD (1.0): the load average to wait for (at most 5 minutes) before the runs,
# PG_URL (postgres://postgres@127.0.0.1:5432/test) the server --postgres creates its database on.
set -euo pipefail

BACKEND=sqlite
MODE=load
for arg in "$@"; do
    case "$arg" in
    --postgres) BACKEND=postgres ;;
    --memory) MODE=memory ;;
    *) echo "usage: $0 [--postgres] [--memory]" >&2; exit 2 ;;
    esac
done
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
MARKS=${MARKS:-1000000}
REPEATED=1000
PROFILE=${PROFILE:-0}
QUIET_LOAD=${QUIET_LOAD:-1.0}

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RESULTS=${RESULTS:-$TARGET_DIR/load}

missing=()
tools=(nginx wrk jq curl)
[[ $BACKEND == postgres ]] && tools+=(psql)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        "${missing[@]/psql/postgresql-client}" >/dev/null
fi
NGINX=$(command -v nginx)

echo "building (release)"
(cd "$ROOT" && cargo build --release --quiet --bin marktrace --example verify_baseline)
MARKTRACE=${MARKTRACE_BIN:-$TARGET_DIR/release/marktrace}
BASELINE=$TARGET_DIR/release/examples/verify_baseline

WORK=$(mktemp -d /tmp/marktrace-load.XXXXXX)
mkdir -p "$RESULTS" "$WORK/data" "$WORK/www" "$WORK/nginx-tmp"
chmod 755 "$WORK" # nginx's workers run as an unprivileged user and read www/ (keys/ stays 0700)
rm -f "$RESULTS"/*.txt
PIDS=()

# Stops what this script started: SIGTERM, and SIGKILL after 10 s (an interrupted run can leave
# marktrace minutes of detection to drain before its graceful stop).
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    if [[ -n ${PG_DATABASE:-} ]]; then
        psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DATABASE WITH (FORCE)" || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() { # drops a pid from the list cleanup kills
    local keep=() pid
    for pid in "${PIDS[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
    PIDS=("${keep[@]}")
}

free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

wait_http() {
    for _ in $(seq 200); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.05
    done
    echo "no answer from $1" >&2
    return 1
}

# CPU time (clock ticks) of a process and its children: nginx's master and workers, or one
# multi-threaded server.
cpu_ticks() {
    local total=0 pid fields
    for pid in "$1" $(cat "/proc/$1/task/"*/children 2>/dev/null); do
        read -ra fields <"/proc/$pid/stat" || continue
        # utime and stime, fields 14 and 15; the command (field 2) holds no spaces here.
        total=$((total + fields[13] + fields[14]))
    done
    echo "$total"
}
TICK=$(getconf CLK_TCK)

# Waits (at most 15 minutes) until a server uses under 5% of a core over half a second, so work
# left over from a run (marktrace's scan writes and detection) does not run into the next;
# sets SETTLED to the seconds it took.
settle() {
    local before after start=$SECONDS
    for _ in $(seq 1800); do
        before=$(cpu_ticks "$1")
        sleep 0.5
        after=$(cpu_ticks "$1")
        if (((after - before) * 200 < 5 * TICK)); then
            SETTLED=$((SECONDS - start))
            return 0
        fi
    done
    SETTLED="> 900"
}

# marktrace's scan counters: committed and dropped so far.
scan_counters() {
    curl -sS "$MT_URL/metrics" | awk '
        $1 == "marktrace_scans_recorded_total" { r = $2 }
        $1 == "marktrace_scans_dropped_total" { d = $2 }
        END { print r + 0, d + 0 }'
}

# bench NAME URL SERVER_PID [wrk script and its arguments]: one wrk run; writes the figures to
# $RESULTS/NAME.txt and appends one line to the summary.
SUMMARY=$WORK/summary.tsv
bench() {
    local name=$1 url=$2 pid=$3
    shift 3
    local script=(-s "$WORK/$name.lua" "$url")
    if (($#)); then
        cat "$1" "$HERE/tail.lua" >"$WORK/$name.lua"
        script+=(-- "${@:2}")
    else
        cp "$HERE/tail.lua" "$WORK/$name.lua"
    fi
    local out=$RESULTS/$name.txt before after wrk_cpu
    echo "run $name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency ${script[*]}" \
        "(the case's script with tail.lua appended)" | tee "$out"
    local scans_before scans_end scans_settled
    [[ -n ${UNSETTLED:-} ]] || settle "$pid"
    [[ $pid == "${MT_PID:-}" ]] && scans_before=$(scan_counters)
    before=$(cpu_ticks "$pid")
    local TIMEFORMAT='%U %S'
    { time wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -H 'Accept: application/json' "${script[@]}" >>"$out"; } 2>"$WORK/time"
    after=$(cpu_ticks "$pid")
    wrk_cpu=$(awk '{print $1 + $2}' "$WORK/time")
    echo "server CPU: $(((after - before) * 1000 / TICK)) ms; wrk CPU: $wrk_cpu s" >>"$out"
    local idle_ticks=$((after - before))
    if [[ $pid == "${MT_PID:-}" ]]; then
        # Scans committed and dropped during the run, and once the service is idle again, with
        # the CPU it spent until then (scan writes and detection left over from the run).
        scans_end=$(scan_counters)
        settle "$pid"
        idle_ticks=$(($(cpu_ticks "$pid") - before))
        scans_settled=$(scan_counters)
        read -r r0 d0 <<<"$scans_before"
        read -r r1 d1 <<<"$scans_end"
        read -r r2 d2 <<<"$scans_settled"
        echo "scans: $((r1 - r0)) committed and $((d1 - d0)) dropped during the run;" \
            "$((r2 - r0)) committed and $((d2 - d0)) dropped once idle, $SETTLED s later" >>"$out"
    fi
    awk -v name="$name" -v server_ticks=$((after - before)) -v tick="$TICK" \
        -v idle_ticks="$idle_ticks" -v wrk_cpu="$wrk_cpu" '
        / requests in / { total = $1 }
        /Requests\/sec:/ { rate = $2 }
        /^percentiles \(us\):/ { p50 = $4; p99 = $6; p999 = $8 }
        /Non-2xx/ { errors += $NF }
        /Socket errors:/ { for (i = 4; i <= NF; i += 2) { sub(/,/, "", $i); errors += $i } }
        /^fresh tokens:/ { sub(/^fresh tokens: /, "fresh tokens: "); note = $0 }
        /^scans:/ { note = note (note == "" ? "" : "; ") $0 }
        END {
            printf "%s\t%.0f\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%d\t%s\n", name, rate, p50, p99,
                p999, server_ticks / tick * 1e6 / total, idle_ticks / tick * 1e6 / total,
                wrk_cpu * 1e6 / total, errors, note
        }' "$out" >>"$SUMMARY"
    grep -E 'Requests/sec|Non-2xx|Socket errors|^percentiles|fresh tokens|^scans' "$out" |
        sed 's/^/    /'
}

start_nginx() {
    NGINX_PORT=$(free_port)
    sed -e "s|@WORK@|$WORK|g" -e "s|@PORT@|$NGINX_PORT|g" "$HERE/nginx.conf" >"$WORK/nginx.conf"
    "$NGINX" -p "$WORK" -c "$WORK/nginx.conf" 2>>"$WORK/nginx-error.log" &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_http "http://127.0.0.1:$NGINX_PORT/answer.json"
}

stop() {
    kill -TERM "$1"
    wait "$1" 2>/dev/null || true
    forget "$1"
}

MT_PORT=$(free_port)
MT_URL=http://127.0.0.1:$MT_PORT
if [[ $BACKEND == postgres ]]; then
    PG_DATABASE=marktrace_load_$$
    psql "$PG_URL" -qc "CREATE DATABASE $PG_DATABASE"
    DATABASE_URL=${PG_URL%/*}/$PG_DATABASE
else
    DATABASE_URL=sqlite://$WORK/data/marktrace.db
fi
MT_ARGS=(--config /dev/null --database-url "$DATABASE_URL"
    --keys-dir "$WORK/keys" --listen "127.0.0.1:$MT_PORT" --public-url "$MT_URL"
    --log-origin load.marktrace.example/log --public-rate 0)
mt() { "$MARKTRACE" "${MT_ARGS[@]}" "$@"; }

# The binary itself in the background (not a shell function, whose subshell a kill would leave
# the server behind), checked to be the process that answers.
start_marktrace() {
    "$MARKTRACE" "${MT_ARGS[@]}" serve >>"$WORK/marktrace.log" 2>&1 &
    MT_PID=$!
    PIDS+=("$MT_PID")
    wait_http "$MT_URL/healthz"
    kill -0 "$MT_PID" || { tail -3 "$WORK/marktrace.log" >&2; exit 1; }
}

api() { # api TOKEN PATH JSON: a POST that must succeed; prints the answer
    curl -sS --fail-with-body -X POST -H "Authorization: Bearer $1" \
        -H 'Content-Type: application/json' -d "$3" "$MT_URL$2"
}

scan() { # scan TOKEN: the JSON verdict
    curl -sS -H 'Accept: application/json' "$MT_URL/v/$1"
}

echo "setting up marktrace in $WORK"
mt keygen >/dev/null
bearer() { sed -n 's/^bearer token[^:]*: //p'; }
ADMIN=$(mt token create --role admin --note load | bearer)
ISSUER=$(mt token create --role issuer --issuer jx-cb1 --note load | bearer)
start_marktrace
api "$ADMIN" /api/v1/issuers \
    '{"id":"jx-cb1","name":"江西省质量认证中心","brand":"江西绿色生态","region":"360100"}' >/dev/null
api "$ISSUER" /api/v1/enterprises \
    '{"uscc":"91330000704202479R","name":"绿源米业","region":"360100"}' >/dev/null
CERTIFICATE=$(api "$ISSUER" /api/v1/certificates '{"enterprise_uscc":"91330000704202479R",
    "product_name":"有机大米","product_category":"粮食","standard":"T/JXGE 001-2026",
    "scope":"5 kg bags"}' | jq -r .certificate_id)
api "$ISSUER" "/api/v1/certificates/$CERTIFICATE/evaluate" "{\"evaluator\":\"第三方评价机构\",
    \"result\":\"pass\",\"report_sha256\":\"$(printf 'ab%.0s' {1..32})\",\"date\":\"2026-01-05\"}" \
    >/dev/null
api "$ISSUER" "/api/v1/certificates/$CERTIFICATE/issue" \
    '{"code":"JXGE-2026-0001","valid_from":"2026-01-01","valid_until":"2099-12-31"}' >/dev/null
KEY_ID=$(api "$ADMIN" /api/v1/issuers/jx-cb1/keys '{}' | jq -r .key_id)
api "$ADMIN" "/api/v1/keys/$KEY_ID/activate" '{}' >/dev/null
PUBLIC_KEY=$(curl -sS "$MT_URL/api/v1/keys?status=active" | jq -r '.keys[0].public_key')
stop "$MT_PID"

if [[ $MODE == memory ]]; then
    start_marktrace
    echo "issuing 10,000 batches of 1,000 marks through the API"
    # One at a time: concurrent batches race for the serial allocator, and the loser gets 503.
    seq 10000 | xargs -I{} curl -sS --fail -o /dev/null -X POST \
        -H "Authorization: Bearer $ISSUER" -H 'Content-Type: application/json' \
        -d "{\"certificate_id\":\"$CERTIFICATE\",\"count\":1000,\"lot\":\"L{}\"}" \
        "$MT_URL/api/v1/batches"
    BATCHES=$(curl -sS -H "Authorization: Bearer $ISSUER" "$MT_URL/api/v1/batches?limit=1000")
    echo "    $(curl -sS "$MT_URL/healthz" | jq -r .log_size) events in the log"
    echo "exporting the marks of 1,000 batches"
    for id in $(jq -r '.[].batch_id' <<<"$BATCHES"); do
        curl -sS --fail -H "Authorization: Bearer $ISSUER" \
            "$MT_URL/api/v1/batches/$id/marks.csv" | tail -n +2 | cut -d, -f2
    done >"$WORK/tokens.txt"
    echo "    $(wc -l <"$WORK/tokens.txt") tokens"
    echo "scanning each once (fresh.lua, until every token was presented)"
    cp "$HERE/fresh.lua" "$WORK/fresh.lua"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d120s -H 'Accept: application/json' \
        -s "$WORK/fresh.lua" "$MT_URL" -- "$WORK/tokens.txt" 0 "$THREADS" |
        grep -E 'Requests/sec|Non-2xx|fresh tokens' | sed 's/^/    /'
    {
        echo "backend: $BACKEND"
        echo "marks issued: $((10000 * 1000)) in 10,000 batches; tokens scanned: $(wc -l <"$WORK/tokens.txt")"
        grep -E '^Vm(HWM|RSS)' "/proc/$MT_PID/status"
    } | tee "$RESULTS/memory.txt"
    exit 0
fi

echo "issuing $MARKS marks"
mt issue --issuer jx-cb1 --certificate "$CERTIFICATE" --count "$MARKS" --gtin 4006381333931 \
    --out "$WORK/marks.csv" 2>&1 | grep -E '^(wrote|peak)' | sed 's/^/    /'
tail -n +2 "$WORK/marks.csv" | cut -d, -f2 >"$WORK/tokens.txt"
rm "$WORK/marks.csv"
TOKEN_LENGTH=$(head -1 "$WORK/tokens.txt" | tr -d '\n' | wc -c)

start_marktrace
GENUINE=$(scan "$(head -1 "$WORK/tokens.txt")")
JUNK=$(scan "$(head -c "$TOKEN_LENGTH" /dev/zero | tr '\0' 'x')")
LAST=$(scan "$(tail -1 "$WORK/tokens.txt")")
jq -e '.verdict == "genuine"' <<<"$GENUINE" >/dev/null
jq -e '.verdict == "genuine"' <<<"$LAST" >/dev/null
jq -e '.verdict == "forged"' <<<"$JUNK" >/dev/null
printf '%s' "$GENUINE" >"$WORK/www/answer.json"
stop "$MT_PID"
echo "    token: $TOKEN_LENGTH characters; answer: genuine ${#GENUINE} bytes, junk ${#JUNK} bytes"

# Other tenants of a shared machine move every figure: wait (at most 5 minutes) for the load
# average to fall below QUIET_LOAD, and measure each limit just before the case held to it.
for _ in $(seq 60); do
    awk -v quiet="$QUIET_LOAD" '{ exit !($1 < quiet) }' /proc/loadavg && break
    sleep 5
done
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
start_nginx
NGINX_URL=http://127.0.0.1:$NGINX_PORT
start_marktrace
bench nginx "$NGINX_URL/answer.json" "$NGINX_PID"
bench nginx_lua_a "$NGINX_URL" "$NGINX_PID" "$HERE/repeat.lua" "$WORK/tokens.txt" "$REPEATED"
bench A_repeat "$MT_URL" "$MT_PID" "$HERE/repeat.lua" "$WORK/tokens.txt" "$REPEATED"
# A again while the 1,000,000-mark batch is exported as CSV through the API, signed on every
# core at background priority: what a printing house's download does to the scans' tails. The
# export outlasts the run; its CPU counts in this case's "to idle".
settle "$MT_PID"
BATCH_ID=$(curl -sS -H "Authorization: Bearer $ISSUER" "$MT_URL/api/v1/batches?limit=1" |
    jq -r '.[0].batch_id')
curl -sS --fail -o /dev/null -H "Authorization: Bearer $ISSUER" \
    "$MT_URL/api/v1/batches/$BATCH_ID/marks.csv" &
EXPORT_PID=$!
UNSETTLED=1 bench A_export "$MT_URL" "$MT_PID" "$HERE/repeat.lua" "$WORK/tokens.txt" "$REPEATED"
wait "$EXPORT_PID"
stop "$MT_PID"

BASE_PORT=$(free_port)
"$BASELINE" "127.0.0.1:$BASE_PORT" "$PUBLIC_KEY" 2>>"$WORK/baseline.log" &
BASE_PID=$!
PIDS+=("$BASE_PID")
wait_http "http://127.0.0.1:$BASE_PORT/v/$(head -1 "$WORK/tokens.txt")"
start_marktrace # a cold signature cache: B's tokens were never presented to this process
bench baseline "http://127.0.0.1:$BASE_PORT" "$BASE_PID" \
    "$HERE/fresh.lua" "$WORK/tokens.txt" "$REPEATED" "$THREADS"
stop "$BASE_PID"
bench B_fresh "$MT_URL" "$MT_PID" "$HERE/fresh.lua" "$WORK/tokens.txt" "$REPEATED" "$THREADS"

bench nginx_c "$NGINX_URL/answer.json" "$NGINX_PID"
bench C_junk "$MT_URL" "$MT_PID" "$HERE/junk.lua" "$TOKEN_LENGTH" 20000
bench nginx_end "$NGINX_URL/answer.json" "$NGINX_PID"
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ $PROFILE == 1 ]] && command -v perf >/dev/null; then
    stop "$MT_PID"
    start_marktrace
    for case in A_repeat B_fresh C_junk; do
        case $case in
        A_repeat) args=("$HERE/repeat.lua" "$WORK/tokens.txt" "$REPEATED") ;;
        # B's profile reads the tokens B did not reach; a fresh process has none cached.
        B_fresh) args=("$HERE/fresh.lua" "$WORK/tokens.txt" $((MARKS / 2)) "$THREADS") ;;
        C_junk) args=("$HERE/junk.lua" "$TOKEN_LENGTH" 20000) ;;
        esac
        perf record -q -F 999 -g -p "$MT_PID" -o "$WORK/perf.data" -- sleep 8 2>/dev/null &
        perf_pid=$!
        wrk -t"$THREADS" -c"$CONNECTIONS" -d9s -H 'Accept: application/json' \
            -s "${args[0]}" "$MT_URL" -- "${args[@]:1}" >/dev/null
        wait "$perf_pid"
        {
            echo "## by thread"
            perf report -i "$WORK/perf.data" --sort comm --stdio 2>/dev/null |
                grep -E '^ +[0-9.]+%' || true
            echo "## by function, self time"
            perf report -i "$WORK/perf.data" --no-children --sort comm,dso,sym --stdio \
                --percent-limit 0.5 -g none 2>/dev/null | grep -E '^ +[0-9.]+%' || true
            echo "## by function, with callees"
            perf report -i "$WORK/perf.data" --children --sort sym --stdio \
                --percent-limit 3 -g none 2>/dev/null | grep -E '^ +[0-9.]+%' || true
            echo "## marktrace's own functions, with callees"
            perf report -i "$WORK/perf.data" --children --sort sym --stdio \
                --percent-limit 0.3 -g none 2>/dev/null | grep -E '^ +[0-9.]+%' |
                grep -E 'marktrace::|insert_scans|scans_of' || true
        } >"$RESULTS/perf_$case.txt"
        settle "$MT_PID"
        echo "profile of $case: $RESULTS/perf_$case.txt"
    done
fi

# The summary, with issue 14's targets: the rate of A to the first nginx run, of B to the
# baseline, of C to the nginx run just before it; each case's p99 to that nginx run's p99 (B's
# to the first nginx run's); for marktrace, its CPU until idle to its CPU during the run.
{
    echo "backend: $BACKEND"
    printf '%-12s %8s %7s %7s %7s %8s %9s %8s %6s\n' case "req/s" p50 p99 p99.9 "server" \
        "to idle" "wrk" errors
    awk -F'\t' '
        { rate[$1] = $2; p99[$1] = $4; line[NR] = $0 }
        END {
            limit["A_repeat"] = "nginx"; limit["B_fresh"] = "baseline"; limit["C_junk"] = "nginx_c"
            limit["A_export"] = "nginx"
            tail["A_repeat"] = "nginx"; tail["B_fresh"] = "nginx"; tail["C_junk"] = "nginx_c"
            tail["A_export"] = "nginx"
            target["A_repeat"] = 0.6; target["B_fresh"] = 1.0; target["C_junk"] = 0.8
            target["A_export"] = 0
            for (i = 1; i <= NR; i++) {
                split(line[i], f, "\t")
                printf "%-12s %8s %7s %7s %7s %8s %9s %8s %6s\n", f[1], f[2], f[3], f[4], f[5],
                    f[6], f[7], f[8], f[9]
                if (f[10] != "") printf "%-12s %s\n", "", f[10]
                if (!(f[1] in limit)) continue
                r = f[2] / rate[limit[f[1]]]
                if (target[f[1]] > 0)
                    printf "%-12s rate %.2f of %s (target >= %.1f: %s)\n", "", r, limit[f[1]],
                        target[f[1]], r >= target[f[1]] ? "met" : "NOT met"
                else
                    printf "%-12s rate %.2f of %s\n", "", r, limit[f[1]]
                t = f[4] / p99[tail[f[1]]]
                printf "%-12s p99 %.2f of %s p99 (target <= 1.5: %s)\n", "", t, tail[f[1]],
                    t <= 1.5 ? "met" : "NOT met"
                if (f[1] == "A_repeat") {
                    c = f[7] / f[6]
                    printf "%-12s CPU until idle %.2f of CPU during the run (target <= 1.3: %s)\n",
                        "", c, c <= 1.3 ? "met" : "NOT met"
                }
            }
        }' "$SUMMARY"
} | tee "$RESULTS/summary.txt"
echo "wrk output: $RESULTS"
