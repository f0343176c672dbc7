#!/usr/bin/env bash
# The HTTP API against its own OpenAPI document: schemathesis fuzzes a real `marktrace serve`
# (debug build, fresh keys directory, seeded with a realistic registry by seed.py) once per
# caller: anonymously for the public operations, then with a token of each role for the
# operations whose security requirements name that role. Every response must be no 5xx, a
# documented status code and content type, and match its documented schema and headers; a
# protected operation must refuse a request without its token; the server must log no error.
# Any failure exits non-zero with schemathesis's report.
#
# One pass on a fresh SQLite database, and one on a fresh schema of the PostgreSQL database
# TEST_POSTGRES_URL names when it is set (as in .ci/run).
#
# Deterministic (derandomised generation, which keeps no example database between runs), so a
# failure reproduces by running this again. SCHEMATHESIS_EXAMPLES (default 25) bounds the
# generated cases per operation in the fuzzing phase; SCHEMATHESIS_EXTRA_CHECKS adds checks
# (e.g. positive_data_acceptance, which the registry's state and rules make noisy in CI).
# Arguments name the callers to run (default: all), e.g. `tests/api/run.sh issuer`.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Pinned: schemathesis's CLI and checks change between releases, and CI must not drift.
SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-25}"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,unsupported_method,allow_header_conformance
CHECKS+="${SCHEMATHESIS_EXTRA_CHECKS:+,$SCHEMATHESIS_EXTRA_CHECKS}"
# In an order that keeps the seeded registry useful to the later callers: the admin last,
# since it may suspend the issuer or compromise its keys.
ROLES=("$@")
(( ${#ROLES[@]} )) || ROLES=(anonymous credit enforcement supervisor issuer admin)
venv="$PWD/target/schemathesis-venv"
started=$SECONDS

if [[ "$("$venv/bin/st" --version 2>/dev/null)" != *" $SCHEMATHESIS_VERSION" ]]; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
# The debug build: `cargo test` has just compiled it (with the crypto crates optimised), so CI
# pays nothing more; a release build would cost many minutes on a small machine.
cargo build --quiet
bin="$PWD/target/debug/marktrace"

# Every request and response of the last run (HAR), a JUnit summary per caller, and the
# server's log, per backend, kept under target/ for reading after a failure.
reports="$PWD/target/schemathesis-report"
rm -rf "$reports"

work=$(mktemp -d -t marktrace-api.XXXXXX)
server=
schema=
stop_server() {
    # SIGTERM is the graceful stop: the server drains its scan queue and closes the database.
    if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" || true
    fi
    server=
    if [[ -n "$schema" ]]; then
        psql "$TEST_POSTGRES_URL" -qc "DROP SCHEMA $schema CASCADE" >/dev/null || true
        schema=
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# Operation names (`METHOD /path`) per caller, from the document's security requirements;
# `unassigned` lists protected operations that name no role, which no pass would test.
operations() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
doc, role = json.load(open(sys.argv[1])), sys.argv[2]
known = {"admin", "issuer", "supervisor", "enforcement", "credit"}
for path, item in doc["paths"].items():
    for method, op in item.items():
        roles = {r for req in op.get("security", []) for r in req.get("bearer", [])}
        public = not op.get("security")
        if (role == "anonymous" and public) or role in roles:
            print(f"{method.upper()} {path}")
        elif role == "unassigned" and not public and not roles & known:
            print(f"{method.upper()} {path}")
EOF
}

failed=()
# One pass: a server on `database_url` with a fresh keys directory, seeded, fuzzed per caller.
fuzz() {
    local backend=$1 dir="$work/$1" out="$reports/$1"
    mkdir -p "$dir" "$out"
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local base="http://127.0.0.1:$port"
    export MARKTRACE_DATABASE_URL=$2
    export MARKTRACE_LISTEN="127.0.0.1:$port"
    export MARKTRACE_PUBLIC_URL="$base"
    export MARKTRACE_KEYS_DIR="$dir/keys"
    export MARKTRACE_CONFIG="$dir/marktrace.toml"
    touch "$MARKTRACE_CONFIG"
    # The fuzzer is one client sending thousands of requests: the public rate limit (429,
    # which the document describes) is off, or it would answer most of them.
    export MARKTRACE_PUBLIC_RATE=0
    # The fuzzer may issue batches of any count it likes; exports of them must stay quick.
    export MARKTRACE_MAX_BATCH_MARKS=1000
    export RUST_LOG="${RUST_LOG:-warn}"

    "$bin" keygen >/dev/null
    "$bin" init >/dev/null
    mint() { "$bin" token create --note schemathesis "$@" | sed -n 's/^bearer token[^:]*: //p'; }
    MT_TOKEN_ADMIN=$(mint --role admin)
    MT_TOKEN_ISSUER=$(mint --role issuer --issuer jx-cb1)
    MT_TOKEN_SUPERVISOR=$(mint --role supervisor --region 360100)
    MT_TOKEN_ENFORCEMENT=$(mint --role enforcement --region 360000)
    MT_TOKEN_CREDIT=$(mint --role credit)
    export MT_TOKEN_ADMIN MT_TOKEN_ISSUER MT_TOKEN_SUPERVISOR MT_TOKEN_ENFORCEMENT MT_TOKEN_CREDIT

    local log="$out/server.log"
    "$bin" serve >"$log" 2>&1 &
    server=$!
    local waited=$SECONDS
    until curl -fsS "$base/healthz" >/dev/null 2>&1; do
        if ! kill -0 "$server" 2>/dev/null || (( SECONDS - waited > 60 )); then
            echo "marktrace serve did not start ($backend):" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    python3 tests/api/seed.py "$base" "$dir/schemathesis.toml"
    curl -fsS "$base/api/v1/openapi.json" -o "$dir/openapi.json"
    local unassigned
    unassigned=$(operations "$dir/openapi.json" unassigned)
    if [[ -n "$unassigned" ]]; then
        echo "these protected operations name no role in their security requirement:" >&2
        echo "$unassigned" >&2
        exit 1
    fi

    local role names args checks var
    for role in "${ROLES[@]}"; do
        mapfile -t names < <(operations "$dir/openapi.json" "$role")
        args=()
        for name in "${names[@]}"; do args+=(--include-name "$name"); done
        checks=$CHECKS
        if [[ "$role" != anonymous ]]; then
            var="MT_TOKEN_${role^^}"
            args+=(--header "Authorization: Bearer ${!var}")
            checks+=,ignored_auth
        fi
        echo "== schemathesis on $backend as $role: ${#names[@]} operations"
        # One worker: with several, hypothesis describes filters by parsing source in
        # threads, which CPython 3.11's ast.parse does not survive ("AST constructor
        # recursion depth mismatch"). Run in the pass's directory, where schemathesis and
        # hypothesis leave their caches (of earlier crashes, among others) to be deleted.
        if ! (cd "$dir" && "$venv/bin/st" --no-color --config-file "$dir/schemathesis.toml" \
            run "$base/api/v1/openapi.json" --url "$base" "${args[@]}" \
            --checks "$checks" \
            --phases examples,coverage,fuzzing \
            --max-examples "$EXAMPLES" --generation-deterministic \
            --workers 1 --request-timeout 30 \
            --suppress-health-check all \
            --output-truncate false \
            --report junit,har --report-dir "$out/$role"); then
            failed+=("$backend/$role")
        fi
    done

    if ! kill -0 "$server" 2>/dev/null; then
        echo "marktrace serve died during the run ($backend):" >&2
        cat "$log" >&2
        exit 1
    fi
    # A 5xx fails a check above; an error logged without one (a background task's) fails here.
    if grep -q 'ERROR' "$log"; then
        echo "the server logged errors ($backend):" >&2
        grep 'ERROR' "$log" >&2
        failed+=("$backend/server-log")
    fi
    stop_server
}

fuzz sqlite "sqlite://$work/sqlite/marktrace.db"
if [[ -n "${TEST_POSTGRES_URL:-}" ]]; then
    schema="api_$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
    psql "$TEST_POSTGRES_URL" -qc "CREATE SCHEMA $schema" >/dev/null
    separator='?'
    [[ "$TEST_POSTGRES_URL" == *'?'* ]] && separator='&'
    fuzz postgres "$TEST_POSTGRES_URL${separator}options=-c%20search_path%3D$schema"
fi

echo "schemathesis: $(( SECONDS - started )) s"
if (( ${#failed[@]} )); then
    echo "schemathesis found failures in: ${failed[*]}" >&2
    exit 1
fi
