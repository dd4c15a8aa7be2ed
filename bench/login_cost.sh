#!/usr/bin/env bash
# Redis time per login under a login flood, for one or more Argon2 memory
# sizes: a private Redis and one release authd per size, 8 accounts, wrk
# for SECONDS, then INFO commandstats (bench/redis_load_cost.py) and the
# per-call cost of the session function (fcall) and the throttle scripts
# (evalsha). With the default 19 MiB, Argon2's memory traffic on a small
# machine evicts Redis's working set too; a small size shows Redis's own cost.
#
#     bash bench/login_cost.sh [SECONDS] [MEMORY_KIB ...]    (default: 4 19456 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
shift || true
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(19456 1024); fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/authd-target}"
cargo build --release --quiet --bin authd
bin="$CARGO_TARGET_DIR/release/authd"
source bench/world.sh
start_redis
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$bin" keygen > "$work/key.pem"
echo "| case | logins | script µs per login | other commands µs | script calls per login |"
echo "|---|---|---|---|---|"
for mem in "${sizes[@]}"; do
  port=$(free_port)
  run_authd "$bin" "$port" AUTHD_REDIS_URL="redis://127.0.0.1:$rport" AUTHD_ARGON2_MEMORY_KIB="$mem" \
    AUTHD_DATABASE_URL="sqlite://$work/authd-$mem.db?mode=rwc" AUTHD_JWT_PRIVATE_KEY_FILE="$work/key.pem" \
    AUTHD_REDIS_PREFIX="m$mem:"
  for i in $(seq 0 7); do
    curl -fs -X POST "http://127.0.0.1:$port/api/register" -H 'content-type: application/json' \
      -d "{\"email\":\"bench$i@example.com\",\"password\":\"bench password 123\"}" >/dev/null
  done
  redis-cli -p "$rport" config resetstat >/dev/null
  out=$(wrk -t2 -c16 -d"${secs}s" -s bench/login.lua "http://127.0.0.1:$port/api/login")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  python3 bench/redis_load_cost.py "$rport" "$n" "login, Argon2 $mem KiB"
  redis-cli -p "$rport" info commandstats | awk -F'[:,=]' '/^cmdstat_(fcall|evalsha):/ {printf "    %s: %s calls, %s µs per call\n", $1, $3, $7}'
done
