#!/usr/bin/env bash
# What CI runs for clients/js from a clean clone (from anywhere):
#   AUTHD_BIN=/path/to/authd bash clients/js/ci.sh
# (or CARGO_TARGET_DIR, or a debug build at target/debug/authd).
# The browser test needs chromium (/usr/bin/chromium or CHROMIUM_PATH).
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund
npm run build
npm run size

# The package as it would be published: it packs, holds dist/ and no tests.
pack=$(mktemp -d)
trap 'rm -rf "$pack"' EXIT
npm pack --pack-destination "$pack" >/dev/null
tar -tzf "$pack"/authd-client-*.tgz | tee "$pack/files" | sed 's/^/  packed: /'
grep -qx 'package/dist/index.js' "$pack/files"
grep -qx 'package/dist/index.d.ts' "$pack/files"
! grep -q 'package/test/' "$pack/files"

node --test --test-concurrency=1 test/*.test.mjs
node --test test/browser/*.test.mjs
