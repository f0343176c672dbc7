#!/bin/sh
# Screenshots of the consumer's verdict pages (src/verify/page.rs, templates/verify/) at a
# phone's size, for the README: docs/verdict-<verdict>.png, 390x844 CSS px, what a phone shows
# before scrolling.
#
# Needs Debian's chromium and a CJK font, or the Chinese renders as boxes:
#     apt-get install -y chromium fonts-noto-cjk
# and, to shrink the PNGs losslessly by about a fifth, optionally optipng.
# Run from anywhere: it works in the repository that holds this script.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# The example renders every verdict's page from sample answers into target/verdict-pages/.
cargo run --quiet --example verdict_pages -- target/verdict-pages >/dev/null

for v in forged altered void revoked suspended genuine genuine-flagged; do
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --force-device-scale-factor=1 --window-size=390,844 \
        --screenshot="$root/docs/verdict-$v.png" \
        "file://$root/target/verdict-pages/$v.html" 2>/dev/null
done
if command -v optipng >/dev/null; then
    optipng -quiet -o2 docs/verdict-*.png
fi
ls -l docs/verdict-*.png
