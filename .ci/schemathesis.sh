#!/usr/bin/env bash
# API conformance: validates the document authd serves at /openapi.json
# with openapi-spec-validator (PyPI), then runs schemathesis against a live
# authd (the debug build `cargo test` left in $CARGO_TARGET_DIR) with it.
# Checks: no 5xx, every status and content type documented, every body
# matching its schema. Two passes, so the operations that end
# the session behind the Bearer token (logout, logout-all, password change,
# session deletion, revocation) run after the others have been exercised
# with a live token.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-/var/tmp/authd-target}/debug/authd"
venv=/var/tmp/authd-venv
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1 ||
  ! "$venv/bin/openapi-spec-validator" --help >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis==4.32.5' 'openapi-spec-validator==0.9.0'
fi
source bench/world.sh
start_redis
# A provider on loopback, so the routes of sign-in with providers answer
# past their 404 (clients/js/scripts/dev-provider.mjs: node builtins only).
pport=$(free_port)
node clients/js/scripts/dev-provider.mjs "$pport" >"$work/provider.log" 2>&1 &
pids+=($!)
port=$(free_port)
run_authd "$bin" "$port" AUTHD_REDIS_URL="redis://127.0.0.1:$rport" \
  AUTHD_DATABASE_URL="sqlite://$work/authd.db" \
  AUTHD_INTROSPECTION_SECRETS=schemathesis-introspection-secret-0123456789 \
  AUTHD_OIDC_PROVIDERS=dev AUTHD_OIDC_DEV_ISSUER="http://127.0.0.1:$pport" \
  AUTHD_OIDC_DEV_CLIENT_IDS=conformance-app AUTHD_PUBLIC_URL="http://localhost:$port" \
  AUTHD_OIDC_REDIRECT_URLS="http://localhost:$port/done,com.example.app:/oauth"
base=http://127.0.0.1:$port
echo "-- openapi-spec-validator: the document itself against the OpenAPI 3.1 schema"
curl -fsS "$base/openapi.json" >"$work/openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"
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
if grep -q ' ERROR authd\| panicked\|answering 500' "$work/authd-$port.log"; then
  echo "authd logged errors:" >&2; cat "$work/authd-$port.log" >&2; exit 1
fi
