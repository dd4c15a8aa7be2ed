#!/usr/bin/env bash
# How authd scales with cores and with Redis Cluster masters.
#   bash bench/scale.sh [seconds per case, default 5]
# 1. authd pinned (taskset) to 1, 2, 4, 8 … cores while the machine has at
#    least one more; Redis on the last core, wrk on the cores authd does not
#    use (on 2 cores: authd on core 0, Redis and wrk share core 1). Cases:
#    /healthz, a guarded route in session mode, 32 refresh chains. Reports
#    req/s, p99, and the CPU authd and Redis spent per request (µs, from
#    /proc), so a case that stops scaling shows where the time went.
# 2. 32 refresh chains per authd instance against a Redis Cluster of 1 and of
#    3 masters, with as many authd instances as masters.
# On a 2-core machine it is a smoke test (CI runs it with 1-second cases):
# the core counts it can pin are 1; the figures are not asserted. Exits
# non-zero on errors or broken refresh chains. Needs taskset (util-linux),
# wrk, redis-server, redis-cli, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/authd-target}"
cargo build --release --quiet --bin authd
bin="$CARGO_TARGET_DIR/release/authd"
source bench/world.sh
cores=$(nproc)
last=$((cores - 1))
"$bin" keygen > "$work/key.pem"
failed=0

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
field() { python3 -c "import json,sys;print(json.load(sys.stdin)['$1'])"; }
# Backgrounded processes are started with taskset itself, not through a
# function, so that `$!` is the process (taskset execs it).
pin() { taskset -c "$1" "${@:2}"; }

# measure LABEL AUTHD_PID REDIS_PID WRK_CORES wrk-args...
measure() {
  local label=$1 apid=$2 rpid=$3 wcores=$4; shift 4
  local a0 r0 out a1 r1 reqs
  a0=$(cpu_ticks "$apid"); r0=$(cpu_ticks "$rpid")
  out=$(pin "$wcores" wrk -d"${secs}s" --latency "$@")
  a1=$(cpu_ticks "$apid"); r1=$(cpu_ticks "$rpid")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  if grep -q 'Non-2xx\|Socket errors' <<<"$out" || { grep -q 'broken chains' <<<"$out" && ! grep -q 'broken chains: 0 ' <<<"$out"; }; then
    echo "$label: errors, non-2xx answers or broken chains" >&2; echo "$out" >&2; failed=1
  fi
  python3 - "$label" "$reqs" "$((a1 - a0))" "$((r1 - r0))" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '/ 99%/ {print $2}' <<<"$out")" <<'PY'
import os, sys
label, reqs, a, r, rps, p99 = sys.argv[1:7]
tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
reqs = max(int(reqs), 1)
print(f"| {label} | {float(rps):,.0f} | {p99} | {int(a) * tick_us / reqs:.1f} | {int(r) * tick_us / reqs:.1f} |")
PY
}

echo "authd scale: ${secs}s per case, $cores cores"
echo
echo "| case | req/s | p99 | authd CPU µs/req | Redis CPU µs/req |"
echo "|---|---|---|---|---|"
n=1
while [ "$n" -lt "$cores" ] || [ "$cores" -eq 1 ]; do
  rport=$(free_port)
  taskset -c "$last" redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
  rpid=$!; pids+=("$rpid")
  port=$(free_port)
  authd_cores="0-$((n - 1))"
  wrk_cores=$([ $((n + 1)) -le "$last" ] && echo "$n-$((last - 1))" || echo "$last")
  [ "$cores" -eq 1 ] && { authd_cores=0; wrk_cores=0; }
  sleep 0.2
  taskset -c "$authd_cores" env AUTHD_BIND="127.0.0.1:$port" RUST_LOG=warn AUTHD_REDIS_URL="redis://127.0.0.1:$rport" \
    AUTHD_DATABASE_URL="sqlite://$work/scale$n.db" AUTHD_JWT_PRIVATE_KEY_FILE="$work/key.pem" \
    AUTHD_REGISTER_MAX_PER_IP=1000 "$bin" >"$work/authd-$port.log" 2>&1 &
  apid=$!; pids+=("$apid")
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  A=http://127.0.0.1:$port
  curl -fs -X POST "$A/api/register" -H 'content-type: application/json' \
    -d '{"email":"scale@example.com","password":"bench password 123"}' >/dev/null
  login() { curl -fs -X POST "$A/api/login" -H 'content-type: application/json' \
    -d '{"email":"scale@example.com","password":"bench password 123"}'; }
  at=$(login | field access_token)
  rts=$(for _ in $(seq 32); do login | field refresh_token; done | paste -sd, -)
  measure "authd on $n core(s): /healthz c32" "$apid" "$rpid" "$wrk_cores" -t2 -c32 "$A/healthz"
  measure "authd on $n core(s): guarded, session mode c32" "$apid" "$rpid" "$wrk_cores" -t2 -c32 \
    -H "Authorization: Bearer $at" "$A/api/secure"
  RTS=$rts measure "authd on $n core(s): 32 refresh chains" "$apid" "$rpid" "$wrk_cores" -t32 -c32 \
    -s bench/refresh_chains.lua "$A/api/token"
  kill "$apid" "$rpid" 2>/dev/null || true
  [ "$cores" -eq 1 ] && break
  n=$((n * 2))
done

# Refresh against a Redis Cluster of 1 and of 3 masters (no replicas), with
# one authd instance per master, each running 32 chains at once.
cluster() { # masters -> prints the URL
  local m=$1 ports=() p
  for _ in $(seq "$m"); do
    p=$(cluster_port); ports+=("$p"); mkdir -p "$work/c$p"
    redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/c$p" \
      --cluster-enabled yes --cluster-config-file nodes.conf >/dev/null 2>&1 &
    echo $! >> "$work/cluster.pids"
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 100); do redis-cli -p "$p" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
  done
  if [ "$m" -eq 1 ]; then
    redis-cli -p "${ports[0]}" cluster addslotsrange 0 16383 >/dev/null
  else
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-yes >/dev/null
  fi
  for p in "${ports[@]}"; do
    for _ in $(seq 200); do redis-cli -p "$p" cluster info | grep -q cluster_state:ok && break; sleep 0.05; done
  done
  local url; url=$(printf 'redis://127.0.0.1:%s,' "${ports[@]}"); echo "${url%,}"
}
# (cluster runs in a subshell: its servers are stopped from the pid file.)
trap 'kill $(cat "$work/cluster.pids" 2>/dev/null) 2>/dev/null || true; cleanup' EXIT
for masters in 1 3; do
  url=$(cluster "$masters")
  bases=(); chains=()
  for i in $(seq "$masters"); do
    port=$(free_port)
    run_authd "$bin" "$port" AUTHD_REDIS_URL="$url" AUTHD_REDIS_PREFIX="m$masters:" \
      AUTHD_DATABASE_URL="sqlite://$work/cluster$masters.db" AUTHD_JWT_PRIVATE_KEY_FILE="$work/key.pem" \
      AUTHD_REGISTER_MAX_PER_IP=1000
    bases+=("http://127.0.0.1:$port")
  done
  curl -fs -X POST "${bases[0]}/api/register" -H 'content-type: application/json' \
    -d '{"email":"scale@example.com","password":"bench password 123"}' >/dev/null
  outs=(); wpids=()
  for base in "${bases[@]}"; do
    rts=$(for _ in $(seq 32); do curl -fs -X POST "$base/api/login" -H 'content-type: application/json' \
      -d '{"email":"scale@example.com","password":"bench password 123"}' | field refresh_token; done | paste -sd, -)
    out="$work/wrk-$masters-${base##*:}.txt"; outs+=("$out")
    RTS=$rts wrk -d"${secs}s" -t32 -c32 -s bench/refresh_chains.lua "$base/api/token" > "$out" &
    wpids+=($!)
  done
  wait "${wpids[@]}"
  for out in "${outs[@]}"; do
    if grep -q 'Non-2xx\|Socket errors' "$out" || ! grep -q 'broken chains: 0 ' "$out"; then
      echo "cluster of $masters: errors or broken chains" >&2; cat "$out" >&2; failed=1
    fi
  done
  total=$(cat "${outs[@]}" | awk '/Requests\/sec/ {s += $2} END {printf "%.0f", s}')
  echo "$total" > "$work/cluster-$masters.rps"
  echo "| refresh, Redis Cluster of $masters master(s), $masters authd instance(s) | $total | | | |"
done
python3 -c "import sys; a, b = (float(open(f'$work/cluster-{m}.rps').read()) for m in (1, 3)); print(f'\n3 masters / 1 master: {b / a:.2f}x refresh throughput')"
exit "$failed"
