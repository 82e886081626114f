#!/usr/bin/env bash
# Makes docs/view.png, the README's picture of `resolver view`:
# examples/view/heap-demo.c traced under glibc 2.35's --trace build, drawn
# under 2.23 and 2.35, photographed by headless Chromium at the call where
# the two versions serve a request from different blocks.
#   scripts/view-screenshot.sh [STEP]
set -euo pipefail
cd "$(dirname "$0")/.."
work=target/view-screenshot
mkdir -p "$work"
cargo build --release -q -p resolver
resolver=$PWD/target/release/resolver
cc -O0 -o "$work/heap-demo" examples/view/heap-demo.c
rm -f "$work/demo.jsonl"
MALLOC_STANDALONE_TRACE=$PWD/$work/demo.jsonl MALLOC_STANDALONE_TRACE_FORMAT=jsonl \
  "$resolver" run --glibc 2.35 --trace -- "$work/heap-demo"
"$resolver" view "$work/demo.jsonl" --version 2.23 --version 2.35 --out "$work/demo.html"
# The first call the versions disagree on, unless a step is given.
step=${1:-$(grep -o '"differ":\[[0-9]*' "$work/demo.html" | grep -o '[0-9]*$')}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
  --user-data-dir="$profile" --window-size=1100,580 \
  --screenshot="$PWD/$work/view.png" "file://$PWD/$work/demo.html#step=$step" 2>/dev/null
mv "$work/view.png" docs/view.png
echo "docs/view.png (step $step)"
