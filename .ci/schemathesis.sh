#!/usr/bin/env bash
# API conformance: runs schemathesis against a live authd (the debug build
# `cargo test` left in $CARGO_TARGET_DIR) with the document it serves at
# /openapi.json. Checks: no 5xx, every status and content type documented,
# every body matching its schema. Two passes, so the operations that end
# the session behind the Bearer token (logout, logout-all, password change,
# session deletion, revocation) run after the others have been exercised
# with a live token.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-/var/tmp/authd-target}/debug/authd"
venv=/var/tmp/authd-venv
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis==4.32.5'
fi
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
pids+=($!)
port=$(free_port)
AUTHD_BIND=127.0.0.1:$port AUTHD_REDIS_URL=redis://127.0.0.1:$rport \
  AUTHD_DATABASE_URL="sqlite://$work/authd.db" \
  AUTHD_INTROSPECTION_SECRETS=schemathesis-introspection-secret-0123456789 \
  RUST_LOG=warn "$bin" >"$work/authd.log" 2>&1 &
pids+=($!)
base=http://127.0.0.1:$port
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
token() { # email: registers and logs in, prints an access token
  curl -fs -X POST "$base/api/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"conformance password 1\"}" >/dev/null
  curl -fs -X POST "$base/api/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"conformance password 1\"}" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])'
}
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
ending=(--include-operation-id logout --include-operation-id logout_all
  --include-operation-id change_password --include-operation-id end --include-operation-id revoke)
st() { "$venv/bin/schemathesis" run "$base/openapi.json" --checks "$checks" \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-100}" --generation-deterministic "$@"; }
first=$(token first@conformance.example)
second=$(token second@conformance.example)
echo "-- the operations that leave the session alive"
st -H "Authorization: Bearer $first" --exclude-operation-id introspect \
  --exclude-operation-id logout --exclude-operation-id logout_all \
  --exclude-operation-id change_password --exclude-operation-id end --exclude-operation-id revoke
echo "-- introspection, as a resource server"
st -H "Authorization: Bearer schemathesis-introspection-secret-0123456789" \
  --include-operation-id introspect
echo "-- the operations that end it"
st -H "Authorization: Bearer $second" "${ending[@]}"
# authd's own errors (actix logs malformed requests it refused at ERROR).
if grep -q ' ERROR authd\| panicked\|answering 500' "$work/authd.log"; then
  echo "authd logged errors:" >&2; cat "$work/authd.log" >&2; exit 1
fi
