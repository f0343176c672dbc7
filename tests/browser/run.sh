#!/usr/bin/env bash
# The browser stories (tests/browser/stories.py) in Debian's headless chromium, driven through
# chromedriver by selenium, against a real `marktrace serve`: the debug build, on a fresh SQLite
# database and keys directory, public rate limit off, seeded through the API as for the API
# fuzzing (tests/api/seed.py). Every page a story visits is checked for accessibility
# (tests/browser/harness.py), and each story's screenshots are written to docs/console/.
#
# Installs chromium, chromium-driver and a CJK font (fonts-noto-cjk: without one the Chinese
# renders as boxes) from Debian's packages when missing, and selenium (pinned) into
# target/browser-venv. MARKTRACE_BIN names the binary to test; without it, `cargo build` makes
# target/debug/marktrace (which `cargo test` has just built in CI). Arguments name the stories
# to run (default: all), e.g. `tests/browser/run.sh verdict-forged`. The server's log is kept
# in target/browser-report/server.log; an error in it fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Deadlines, in seconds.
SERVER_START_DEADLINE=60
STORIES_DEADLINE="${BROWSER_STORIES_DEADLINE:-900}"
venv="$PWD/target/browser-venv"
started=$SECONDS

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
[[ -n "$(fc-list :lang=zh 2>/dev/null)" ]] || missing+=(fonts-noto-cjk)
if (( ${#missing[@]} )); then
    echo "installing ${missing[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Pinned, selenium (4.51.0: checked with Debian bookworm's chromium and chromedriver 156) and
# what it pulls in, so CI does not drift; reinstalled when the list changes.
requirements=tests/browser/requirements.txt
if ! cmp -s "$requirements" "$venv/requirements.txt"; then
    echo "installing $(grep -i '^selenium==' "$requirements") into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi

if [[ -n "${MARKTRACE_BIN:-}" ]]; then
    bin=$(realpath "$MARKTRACE_BIN")
else
    cargo build --quiet
    bin="$PWD/target/debug/marktrace"
fi

reports="$PWD/target/browser-report"
rm -rf "$reports"
mkdir -p "$reports"
log="$reports/server.log"

work=$(mktemp -d -t marktrace-browser.XXXXXX)
server=
stop_server() {
    # SIGTERM is the graceful stop: the server drains its scan queue and closes the database.
    if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" || true
    fi
    server=
}
trap 'stop_server; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export MARKTRACE_DATABASE_URL="sqlite://$work/data/marktrace.db"
export MARKTRACE_LISTEN="127.0.0.1:$port"
export MARKTRACE_PUBLIC_URL="$base"
export MARKTRACE_KEYS_DIR="$work/keys"
export MARKTRACE_CONFIG="$work/marktrace.toml"
touch "$MARKTRACE_CONFIG"
# One browser makes every request from one address: the public rate limit would answer 429.
export MARKTRACE_PUBLIC_RATE=0
export RUST_LOG="${RUST_LOG:-warn}"
# No __pycache__ beside the stories in the work tree.
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$work/data"

"$bin" keygen >/dev/null
"$bin" init >/dev/null
mint() { "$bin" token create --note browser "$@" | sed -n 's/^bearer token[^:]*: //p'; }
MT_TOKEN_ADMIN=$(mint --role admin)
MT_TOKEN_ISSUER=$(mint --role issuer --issuer jx-cb1)
MT_TOKEN_SUPERVISOR=$(mint --role supervisor --region 360100)
MT_TOKEN_ENFORCEMENT=$(mint --role enforcement --region 360000)
MT_TOKEN_CREDIT=$(mint --role credit)
export MT_TOKEN_ADMIN MT_TOKEN_ISSUER MT_TOKEN_SUPERVISOR MT_TOKEN_ENFORCEMENT MT_TOKEN_CREDIT

"$bin" serve >"$log" 2>&1 &
server=$!
waited=$SECONDS
until curl -fsS "$base/healthz" >/dev/null 2>&1; do
    if ! kill -0 "$server" 2>/dev/null || (( SECONDS - waited > SERVER_START_DEADLINE )); then
        echo "marktrace serve did not start:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done
# The registry a deployment holds (an issuer and its keys, an enterprise, certificates,
# batches, scans, a flag, a report, cases, a credit record); the stories may rely on it.
python3 tests/api/seed.py "$base" "$work/schemathesis.toml"

status=0
MARKTRACE_BASE_URL="$base" MARKTRACE_BIN="$bin" \
    timeout --signal=TERM --kill-after=10 "$STORIES_DEADLINE" \
    "$venv/bin/python" tests/browser/stories.py "$@" || status=$?
if (( status == 124 )); then
    echo "the stories did not finish within $STORIES_DEADLINE s" >&2
fi

if ! kill -0 "$server" 2>/dev/null; then
    echo "marktrace serve died during the stories:" >&2
    cat "$log" >&2
    status=1
fi
if grep -q 'ERROR' "$log"; then
    echo "the server logged errors:" >&2
    grep 'ERROR' "$log" >&2
    status=1
fi
stop_server
echo "browser stories: $(( SECONDS - started )) s"
exit "$status"
