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
# And it installs as docs/clients.md says (npm install ./authd-client-x.y.z.tgz,
# offline: no dependencies to fetch) and imports by its name.
mkdir "$pack/app"
cp "$pack"/authd-client-*.tgz "$pack/app/"
(
  cd "$pack/app"
  echo '{"name": "scratch-app", "private": true, "type": "module"}' > package.json
  npm install --offline --no-audit --no-fund ./authd-client-*.tgz >/dev/null
  node -e 'import("@authd/client").then(({ AuthdClient }) => new AuthdClient({ baseUrl: "https://auth.example.com", autoRefresh: false, refreshReuseGraceMs: 1 }).close())'
  test -f node_modules/@authd/client/dist/index.d.ts
)
echo "  installed from the tarball and imported"

node --test --test-concurrency=1 test/*.test.mjs
node --test test/browser/*.test.mjs
