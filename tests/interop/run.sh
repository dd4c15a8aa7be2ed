#!/usr/bin/env bash
# DPoP (RFC 9449) interoperability test: authd's proof checking against
# proofs made by joserfc (see dpop_interop.py). From a clean clone, with
# only python3 (3.11+, with venv) and redis-server:
#   AUTHD_BIN=/path/to/authd bash tests/interop/run.sh
# AUTHD_BIN defaults to $CARGO_TARGET_DIR/debug/authd, else this clone's
# target/debug/authd. INTEROP_VENV is the virtualenv (default
# /var/tmp/authd-interop-venv): made on first use and reused after; pip runs
# only when requirements.txt differs from what the virtualenv last installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${AUTHD_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/authd}
venv=${INTEROP_VENV:-/var/tmp/authd-interop-venv}

if [ ! -x "$bin" ]; then
  echo "no authd binary at $bin: build it (cargo build) or set AUTHD_BIN" >&2
  exit 2
fi
command -v redis-server >/dev/null 2>&1 || { echo "redis-server is not on PATH" >&2; exit 2; }

if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    { echo "python3 is $(python3 --version 2>&1); joserfc needs 3.11 or newer" >&2; exit 2; }
  python3 -m venv --clear "$venv"
  rm -f "$venv/.interop-requirements"
fi
if ! cmp -s "$here/requirements.txt" "$venv/.interop-requirements"; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/.interop-requirements"
fi

AUTHD_BIN="$bin" exec "$venv/bin/python" "$here/dpop_interop.py"
