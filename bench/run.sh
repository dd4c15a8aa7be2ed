#!/usr/bin/env bash
# Measures authd on this machine: a login flood, /healthz, a guarded route in
# both access token modes, and a chain of refreshes, all against one release
# build, one private Redis, in one run so the ratios are comparable; and the
# resident memory of the session-mode instance at start, after the login
# flood and after the other runs. Prints the results and writes them to
# BENCHMARKS.md with the machine they ran on.
#   bash bench/run.sh [seconds per case, default 10]
# BENCH_REPORT names the report (default BENCHMARKS.md). Exits non-zero when
# a case saw an answer other than 2xx or a refresh chain broke (CI runs it
# with 1-second cases as a smoke test; the figures are not asserted).
# Needs: wrk, curl, redis-server, redis-cli, python3. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
report=${BENCH_REPORT:-BENCHMARKS.md}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/authd-target}"
cargo build --release --quiet --bin authd --example resource_server --example dpop_proofs
bin="$CARGO_TARGET_DIR/release/authd"
resource_server="$CARGO_TARGET_DIR/release/examples/resource_server"
dpop_proofs="$CARGO_TARGET_DIR/release/examples/dpop_proofs"
source bench/world.sh
start_redis
"$bin" keygen > "$work/key.pem"
# An OpenID provider on loopback, and sign-in bodies with its ID tokens
# (bench/id_tokens.mjs), made before the first case so that making them
# takes no core from it; every instance knows the provider.
pport=$(free_port)
node bench/id_tokens.mjs "$pport" $((secs * 15000)) "$work/id_tokens" >"$work/provider.log" 2>&1 &
pids+=($!)
export AUTHD_OIDC_PROVIDERS=bench AUTHD_OIDC_BENCH_ISSUER="http://127.0.0.1:$pport" \
  AUTHD_OIDC_BENCH_CLIENT_IDS=bench-app

start_authd() { # mode port [guard cache entries]
  run_authd "$bin" "$2" AUTHD_REDIS_URL="redis://127.0.0.1:$rport" \
    AUTHD_GUARD_CACHE_ENTRIES="${3:-100000}" AUTHD_ACCESS_TOKEN_CHECK="$1" \
    AUTHD_DATABASE_URL="sqlite://$work/authd.db" AUTHD_JWT_PRIVATE_KEY_FILE="$work/key.pem"
}
sport=$(free_port); start_authd session "$sport"
spid=${pids[-1]}
# Two more session-mode instances of the same deployment, for propagation.
s2port=$(free_port); start_authd session "$s2port"
s3port=$(free_port); start_authd session "$s3port"
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$spid/status"; }
rss_start=$(rss)
gport=$(free_port); start_authd signature "$gport"
# Signature mode with the verified-token cache off: every request pays the
# full verification, as when every token is new.
nport=$(free_port); start_authd signature "$nport" 0
S=http://127.0.0.1:$sport; G=http://127.0.0.1:$gport; N=http://127.0.0.1:$nport

curl -fs -X POST $S/api/register -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench password 123"}' >/dev/null
login() { curl -fs -X POST "$1/api/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench password 123"}'; }
field() { python3 -c "import json,sys;print(json.load(sys.stdin)['$1'])"; }
AT_S=$(login $S | field access_token)
AT_G=$(login $G | field access_token)
RT=$(login $S | field refresh_token)
# 32 chains for the concurrent refresh case, each its own session.
RTS=$(for _ in $(seq 32); do login $S | field refresh_token; done | paste -sd, -)

run() { # label wrk-args...
  local label=$1; shift
  local out rps lat p99
  # COST=1: Redis CPU per request of this case, from INFO commandstats.
  [ -n "${COST:-}" ] && redis-cli -p "$rport" config resetstat >/dev/null
  # WRK_CPUS: the cores wrk may run on (default: any).
  out=$(${WRK_CPUS:+taskset -c "$WRK_CPUS"} wrk -d"${secs}s" --latency "$@")
  if [ -n "${COST:-}" ]; then
    python3 bench/redis_load_cost.py "$rport" "$(awk '/requests in/ {print $1}' <<<"$out")" "$label" >> "$work/redis_load.txt"
  fi
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  lat=$(awk '/ 50%/ {print $2}' <<<"$out")
  p99=$(awk '/ 99%/ {print $2}' <<<"$out")
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
    echo "$label: errors or answers other than 2xx" >&2; echo "$out" >&2; echo "$label" >> "$work/failed"
  fi
  printf '%-44s %10s req/s   p50 %-9s p99 %s\n' "$label" "$rps" "$lat" "$p99"
  echo "$rps" > "$work/$label.rps"
  echo "$lat $p99" > "$work/$label.lat"
  if grep -q 'broken chains' <<<"$out"; then
    grep 'broken chains' <<<"$out" | tee -a "$work/broken_all.txt"
    [ -e "$work/broken.txt" ] || grep 'broken chains' <<<"$out" > "$work/broken.txt"
    grep -q 'broken chains: 0 ' <<<"$out" || echo "$label: broken chains" >> "$work/failed"
  fi
}
echo "authd bench: ${secs}s per case, $(nproc) cores, wrk and authd on the same machine"
for i in $(seq 0 7); do
  curl -fs -X POST $S/api/register -H 'content-type: application/json' \
    -d "{\"email\":\"bench$i@example.com\",\"password\":\"bench password 123\"}" >/dev/null
done
# The hashing ceiling: slots / one Argon2id hash on this machine, idle
# (`authd hash-time`); and how busy the hashing threads (tokio's blocking
# pool) are during the flood, from their CPU time in /proc.
"$bin" hash-time | tee "$work/hash_time.txt"
hash_ticks() {
  local sum=0 t
  for t in /proc/$spid/task/*; do
    case "$(cat "$t/comm" 2>/dev/null)" in
      tokio-r*) sum=$((sum + $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0))) ;;
    esac
  done
  echo "$sum"
}
for _ in $(seq 1200); do [ -e "$work/id_tokens.ready" ] && break; sleep 0.1; done
[ -e "$work/id_tokens.ready" ] || { echo "bench/id_tokens.mjs made no ID tokens" >&2; exit 1; }
ticks0=$(hash_ticks); started=$(date +%s.%N)
COST=1 run "login flood c16" -t2 -c16 -s bench/login.lua "$S/api/login"
ticks1=$(hash_ticks); ended=$(date +%s.%N)
python3 -c "import os; print((($ticks1 - $ticks0) / os.sysconf('SC_CLK_TCK')) / ($ended - $started))" > "$work/hash_busy.txt"
rss_logins=$(rss)
# Sign-ins with a provider's ID token: one RS256 verification (the key is
# held after the first), the nonce spent in Redis, one SQL read, the session.
BODIES="$work/id_tokens" THREADS=2 run "id-token login c16" -t2 -c16 -s bench/id_token.lua "$S/api/login/id-token"
# The guard while logins flood the same instance: hashing must not stall it.
wrk -t1 -c16 -d"${secs}s" -s bench/login.lua "$S/api/login" >/dev/null &
flood=$!
run "guarded session-mode c8 during a login flood" -t1 -c8 -H "Authorization: Bearer $AT_S" "$S/api/secure"
wait "$flood"
run "healthz c32" -t2 -c32 "$S/healthz"
run "guarded session-mode c32" -t2 -c32 -H "Authorization: Bearer $AT_S" "$S/api/secure"
run "guarded signature-mode c32" -t2 -c32 -H "Authorization: Bearer $AT_G" "$G/api/secure"
run "guarded signature-mode no-cache c32" -t2 -c32 -H "Authorization: Bearer $AT_G" "$N/api/secure"
# A resource server of its own on authd-guard (examples/resource_server.rs),
# revocation from authd's Redis: its guarded route against its own bare one.
rsport=$(free_port)
env AUTHD_URL="$S" AUTHD_GUARD_REVOCATION=redis AUTHD_GUARD_REDIS_URL="redis://127.0.0.1:$rport" \
  BIND="127.0.0.1:$rsport" RUST_LOG=warn "$resource_server" >"$work/resource-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$rsport/hello" >/dev/null && break; sleep 0.1; done
R=http://127.0.0.1:$rsport
run "resource server bare c32" -t2 -c32 "$R/hello"
run "resource server guarded c32" -t2 -c32 -H "Authorization: Bearer $AT_S" "$R/api/whoami"
run "healthz c1" -t1 -c1 "$S/healthz"
run "guarded session-mode c1" -t1 -c1 -H "Authorization: Bearer $AT_S" "$S/api/secure"
run "guarded signature-mode c1" -t1 -c1 -H "Authorization: Bearer $AT_G" "$G/api/secure"
RT=$RT run "refresh chain c1" -t1 -c1 -s bench/refresh.lua "$S/api/token"
RTS=$RTS COST=1 run "refresh 32 chains c32" -t32 -c32 -s bench/refresh_chains.lua "$S/api/token"
# The same two loads with Redis alone on the last core and authd and wrk on
# the others. INFO commandstats counts wall time: on a machine where authd
# and wrk keep every core busy, a script preempted halfway is charged the
# wait, so the unpinned figures above overstate Redis's own cost. (Needs
# 2 cores; new chains, as the old ones moved on.)
if [ "$(nproc)" -ge 2 ]; then
  last=$(( $(nproc) - 1 ))
  rpid=$(pgrep -f "redis-server 127.0.0.1:$rport" | head -1)
  taskset -a -p -c "$last" "$rpid" >/dev/null
  taskset -a -p -c "0-$(( last - 1 ))" "$spid" >/dev/null
  RTS_PINNED=$(for _ in $(seq 32); do login $S | field refresh_token; done | paste -sd, -)
  export WRK_CPUS="0-$(( last - 1 ))"
  COST=1 run "login flood c16, Redis on its own core" -t2 -c16 -s bench/login.lua "$S/api/login" >/dev/null
  RTS=$RTS_PINNED COST=1 run "refresh 32 chains c32, Redis on its own core" -t32 -c32 -s bench/refresh_chains.lua "$S/api/token" >/dev/null
  unset WRK_CPUS
  taskset -a -p -c "0-$last" "$rpid" >/dev/null
  taskset -a -p -c "0-$last" "$spid" >/dev/null
fi
# DPoP (RFC 9449): a session bound to a key, a proof per request as clients
# send them (made ahead by examples/dpop_proofs.rs; each is accepted once).
mkdir -p "$work/dpop"
"$dpop_proofs" "$S" bench@example.com "bench password 123" $((secs * 45000)) $((secs * 6000)) "$work/dpop"
PROOFS="$work/dpop/guard_proofs" AT=$(cat "$work/dpop/access_token") THREADS=2 \
  run "guarded DPoP session-mode c32" -t2 -c32 -s bench/dpop_guard.lua "$S/api/secure"
PROOFS="$work/dpop/refresh_proofs" RT=$(cat "$work/dpop/refresh_token") \
  run "refresh chain DPoP c1" -t1 -c1 -s bench/refresh.lua "$S/api/token"
rounds=$(( secs >= 5 ? 100 : 10 ))
python3 bench/propagation.py "$S" "http://127.0.0.1:$s2port,http://127.0.0.1:$s3port" \
  bench@example.com "bench password 123" "$rounds" | tee "$work/propagation.txt"

# Redis bytes of one session: a new user, a phone's 40-byte User-Agent, a
# login and a refresh; MEMORY USAGE of every key of that user.
curl -fs -X POST $S/api/register -H 'content-type: application/json' \
  -d '{"email":"bytes@example.com","password":"bench password 123"}' >/dev/null
ua="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5)"
pair=$(curl -fs -X POST $S/api/login -A "$ua" -H 'content-type: application/json' \
  -d '{"email":"bytes@example.com","password":"bench password 123"}')
user_bytes() {
  local id=$1 total=0 n=0 key
  while read -r key; do
    [ -n "$key" ] || continue
    total=$((total + $(redis-cli -p "$rport" memory usage "$key" samples 0))); n=$((n + 1))
  done < <(redis-cli -p "$rport" --scan --pattern "authd:{u:$id}*")
  echo "$total bytes in $n keys"
}
uid=$(curl -fs $S/api/me -H "Authorization: Bearer $(field access_token <<<"$pair")" | field id | tr -d -)
bytes_login=$(user_bytes "$uid")
curl -fs -X POST $S/api/token -H 'content-type: application/json' \
  -d "{\"refresh_token\":\"$(field refresh_token <<<"$pair")\"}" >/dev/null
bytes_refresh=$(user_bytes "$uid")
echo "Redis per session: $bytes_login after login, $bytes_refresh after a refresh" | tee "$work/bytes.txt"
rss_end=$(rss)

# The cost of AUTHD_REDIS_MIN_REPLICAS: a Redis Cluster of three masters with
# a replica each, one authd answering once the master has a change (0) and
# one waiting for a replica (1), measured side by side.
cports=()
for i in $(seq 6); do
  p=$(cluster_port); cports+=("$p"); mkdir -p "$work/c$p"
  redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/c$p" \
    --cluster-enabled yes --cluster-config-file nodes.conf --maxmemory-policy noeviction >/dev/null &
  pids+=($!)
done
for p in "${cports[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$p" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
done
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${cports[@]}") --cluster-replicas 1 --cluster-yes >/dev/null
for p in "${cports[@]}"; do
  for _ in $(seq 200); do
    info=$(redis-cli -p "$p" info replication)
    redis-cli -p "$p" cluster info | grep -q cluster_state:ok \
      && grep -q 'connected_slaves:1\|master_link_status:up' <<<"$info" && break
    sleep 0.05
  done
done
cluster_url=$(printf 'redis://127.0.0.1:%s,' "${cports[@]}"); cluster_url=${cluster_url%,}
start_cluster_authd() { # port min-replicas
  run_authd "$bin" "$1" AUTHD_REDIS_URL="$cluster_url" AUTHD_REDIS_MIN_REPLICAS="$2" \
    AUTHD_REGISTER_MAX_PER_IP=1000 AUTHD_DATABASE_URL="sqlite://$work/cluster$2.db" \
    AUTHD_JWT_PRIVATE_KEY_FILE="$work/key.pem"
}
for acks in 0 1; do
  cport=$(free_port); start_cluster_authd "$cport" "$acks"
  C=http://127.0.0.1:$cport
  for i in $(seq 0 7); do
    curl -fs -X POST $C/api/register -H 'content-type: application/json' \
      -d "{\"email\":\"bench$i@example.com\",\"password\":\"bench password 123\"}" >/dev/null
  done
  curl -fs -X POST $C/api/register -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"bench password 123"}' >/dev/null
  crt=$(login $C | field refresh_token)
  crts=$(for _ in $(seq 32); do login $C | field refresh_token; done | paste -sd, -)
  RT=$crt run "cluster refresh chain c1, $acks replica acks" -t1 -c1 -s bench/refresh.lua "$C/api/token"
  RTS=$crts run "cluster refresh 32 chains c32, $acks replica acks" -t32 -c32 -s bench/refresh_chains.lua "$C/api/token"
  run "cluster login c1, $acks replica acks" -t1 -c1 -s bench/login.lua "$C/api/login"
done

# Redis CPU per operation (bench/redis_cost.py: INFO commandstats and the
# Redis process's CPU time around 200 logins, refreshes, guard misses and
# logouts, one at a time), on two instances of their own: one for the
# flows, one in session mode with no memory (every guarded request asks).
cost_port=$(free_port); miss_port=$(free_port)
run_authd "$bin" "$cost_port" AUTHD_REDIS_URL="redis://127.0.0.1:$rport" AUTHD_REDIS_PREFIX=cost: \
  AUTHD_REGISTER_MAX_PER_IP=100000 AUTHD_DATABASE_URL="sqlite://$work/cost.db" AUTHD_JWT_PRIVATE_KEY_FILE="$work/key.pem"
run_authd "$bin" "$miss_port" AUTHD_REDIS_URL="redis://127.0.0.1:$rport" AUTHD_REDIS_PREFIX=cost: \
  AUTHD_GUARD_CACHE_ENTRIES=0 AUTHD_DATABASE_URL="sqlite://$work/cost.db" AUTHD_JWT_PRIVATE_KEY_FILE="$work/key.pem"
cost_n=$(( secs >= 5 ? 200 : 20 ))
python3 bench/redis_cost.py "http://127.0.0.1:$cost_port" "http://127.0.0.1:$miss_port" "$rport" \
  "$(pgrep -f "redis-server 127.0.0.1:$rport" | head -1)" "$cost_n" | tee "$work/redis_cost.txt"
# The same operations with Redis to itself and warm (bench/redis_parts.py:
# authd's scripts sent straight to a private Redis, 32 users a batch): what
# one Redis core can serve.
python3 bench/redis_parts.py --markdown | tee "$work/redis_parts.txt"

# The TypeScript client's soak (clients/js/bench/soak.mjs): 50 app
# instances, 4 concurrent API calls each, 2-second access tokens, 5 % of
# refresh answers dropped by a proxy after authd handled them.
soak_secs=${BENCH_SOAK_SECONDS:-$(( secs >= 10 ? 120 : 10 ))}
(cd clients/js && npm ci --silent --no-audit --no-fund && npm run --silent build) >/dev/null
if ! node clients/js/bench/soak.mjs "$soak_secs" --drop=0.05 --bin="$bin" > "$work/soak.json"; then
  echo "soak: users signed out" >> "$work/failed"
fi
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("soak: %(seconds).0f s, %(users_signed_out)d of %(instances)d users signed out, %(refresh_requests)d refresh requests (%(refreshes_per_instance)s per instance, %(refreshes_per_token)s per token), %(dropped_responses)d answers dropped, %(api_calls)d API calls, %(api_call_failures)d failed%(why)s" % dict(r, why=(" (" + ", ".join("%s: %d" % kv for kv in r.get("api_call_failures_by_code", {}).items()) + ")") if r.get("api_call_failures") else ""))' "$work/soak.json" | tee "$work/soak.txt"
echo
echo "resident memory (session-mode instance): start $rss_start, after the login flood $rss_logins, after the other runs $rss_end"
python3 - "$work" "$secs" "$rss_start" "$rss_logins" "$rss_end" "$report" <<'PY'
import sys, pathlib, subprocess, datetime
d = pathlib.Path(sys.argv[1])
secs, rss_start, rss_logins, rss_end, report = sys.argv[2:7]
soak_secs_note = "`clients/js/bench/soak.mjs`: 50 app instances, 4 concurrent API calls each, 2-second access tokens, 5 % of refresh answers dropped after authd handled them"
r = {p.stem: float(p.read_text()) for p in d.glob("*.rps")}
lat = {p.stem: p.read_text().split() for p in d.glob("*.lat")}
bytes_line = (d / "bytes.txt").read_text().strip()
import re
hash_time = (d / "hash_time.txt").read_text().strip()
hash_ms = float(re.search(r"([0-9.]+) ms per hash", hash_time).group(1))
slots = int(re.search(r"(\d+) hashing slot", hash_time).group(1))
busy = float((d / "hash_busy.txt").read_text()) / slots
ceiling = slots * 1000.0 / hash_ms
logins = r["login flood c16"]
# Under load each hash takes longer than idle (the load generator shares
# the cores): the hashing threads' CPU time per login is that time.
loaded_ms = busy * slots * 1000.0 / logins if logins else float("nan")
ceiling_line = (f"Logins: {logins:,.0f}/s in the flood; Argon2id takes {hash_ms:.1f} ms per hash on this "
                f"machine idle (`authd hash-time`), so {slots} hashing slot(s) allow {ceiling:,.0f}/s: "
                f"{logins / ceiling:.2f} of that ceiling. During the flood the hashing threads were busy "
                f"{busy:.0%} of the time, {loaded_ms:.1f} ms of CPU per login: {busy:.2f} of the ceiling "
                f"at that hash time.")
print(ceiling_line)
id_logins = r.get("id-token login c16", float("nan"))
id_line = (f"Sign-ins with an ID token: {id_logins:,.0f}/s, {id_logins / logins:.1f} x password logins "
           f"in the same run (one RS256 verification, the nonce in Redis, one SQL read, the session).")
print(id_line)
broken_file = d / "broken.txt"
broken = broken_file.read_text().strip() if broken_file.exists() else "broken chains: not measured"
prop_file = d / "propagation.txt"
propagation = prop_file.read_text().strip() if prop_file.exists() else "revocation propagation: not measured"
redis_cost = (d / "redis_cost.txt").read_text().strip() if (d / "redis_cost.txt").exists() else "not measured"
redis_load = (d / "redis_load.txt").read_text().strip() if (d / "redis_load.txt").exists() else "| not measured | | | | |"
redis_parts = (d / "redis_parts.txt").read_text().strip() if (d / "redis_parts.txt").exists() else "not measured"
soak = (d / "soak.txt").read_text().strip() if (d / "soak.txt").exists() else "soak: not run"
guard_ratio = r["resource server guarded c32"] / r["resource server bare c32"]
print(f"resource server (authd-guard, Redis revocation): guarded route {guard_ratio:.3f} x its own bare route")
print()
print("ratios against /healthz in this run:")
for c in ("c32", "c1"):
    h = r[f"healthz {c}"]
    cases = [f"guarded session-mode {c}", f"guarded signature-mode {c}"]
    cases += ["guarded signature-mode no-cache c32", "refresh 32 chains c32", "guarded DPoP session-mode c32"] if c == "c32" else ["refresh chain c1", "refresh chain DPoP c1"]
    for k in cases:
        print(f"  {k:<40} {r[k] / h:6.3f} x healthz throughput")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
order = ["login flood c16", "id-token login c16", "guarded session-mode c8 during a login flood", "healthz c32", "guarded session-mode c32", "guarded signature-mode c32",
         "guarded signature-mode no-cache c32", "resource server bare c32", "resource server guarded c32", "healthz c1", "guarded session-mode c1",
         "guarded signature-mode c1", "refresh chain c1", "refresh 32 chains c32",
         "guarded DPoP session-mode c32", "refresh chain DPoP c1"]
durable = []
for what in ("refresh chain c1", "refresh 32 chains c32", "login c1"):
    cells = []
    for acks in (0, 1):
        k = f"cluster {what}, {acks} replica acks"
        cells.append(f"{r[k]:,.0f} req/s, p50 {lat[k][0]}, p99 {lat[k][1]}")
    durable.append(f"| {what} | {cells[0]} | {cells[1]} |")
rows = []
for k in order:
    h = r["resource server bare c32"] if k.startswith("resource server") else None if k.startswith("login") else r["healthz c32"] if k.endswith("c32") else r["healthz c1"] if k.endswith("c1") else None
    ratio = f"{r[k] / h:.3f}" if h else ""
    rows.append(f"| {k} | {r[k]:,.0f} | {lat[k][0]} | {lat[k][1]} | {ratio} |")
text = f"""# Benchmarks

Written by `bash bench/run.sh {secs}` ({secs} s per case) on {datetime.date.today()},
commit {rev}, on a machine with {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores ({cpu}),
wrk and authd (release build) on the same machine over loopback, one private
Redis, SQLite. Ratios are against `/healthz` with the same connection count
in the same run; absolute numbers drift on a shared machine, ratios less.

| case | req/s | p50 | p99 | x /healthz |
|---|---|---|---|---|
""" + "\n".join(rows) + f"""

- login flood: 8 accounts, 16 connections; one Argon2 slot on 2 cores.
  The guard is then measured while a second flood of logins runs.
  {ceiling_line}
- id-token login: `POST /api/login/id-token` with RS256 ID tokens of a
  provider on loopback (`bench/id_tokens.mjs` makes them before the case,
  each with a nonce of its own), 16 connections. {id_line}
- guarded: one access token reused by every request; `no-cache` turns the
  verified-token cache off (`AUTHD_GUARD_CACHE_ENTRIES=0`), so each request
  pays a full Ed25519 verification, as a new token would.
- resource server: `examples/resource_server.rs` (authd-guard: JWKS from
  authd, revocation from authd's Redis), its guarded `/api/whoami` against
  its own `/hello`; its ratio column is against that bare route:
  {guard_ratio:.3f}.
- refresh chain: one connection, each request presenting the refresh token
  the previous response returned; 32 chains: 32 sessions refreshing at once,
  one connection each ({broken}).
- DPoP: a session bound to an Ed25519 key at login; every request carries a
  proof of its own (`examples/dpop_proofs.rs` makes them before the case, so
  wrk only sends them): the guard verifies the proof's signature, `htm`,
  `htu`, `iat` and `ath` and spends its `jti` in Redis (`SET NX`), on top of
  the access token (still from the verified-token cache); a refresh checks
  the proof and the session's key inside the rotation.

The cost of `AUTHD_REDIS_MIN_REPLICAS` (a Redis Cluster of three masters
with a replica each, on this machine; one authd instance per column):

| case | 0 replica acks | 1 replica ack |
|---|---|---|
""" + "\n".join(durable) + f"""

The TypeScript client under flaky refreshes ({soak_secs_note}): {soak}.

Redis CPU per operation (`bench/redis_cost.py`: each operation run one at
a time; script µs from `INFO commandstats`, process CPU from the Redis
process's scheduler time, parsing and networking included):

{redis_cost}

The same under load (`bench/redis_load_cost.py`: `INFO commandstats` reset
before a wrk case and read after it, divided by its requests; Redis runs
warm, as in a busy deployment, where one operation at a time leaves it
cold). Commandstats time is wall time: unpinned, a script preempted by
authd or wrk on a machine they keep busy is charged the wait; the rows "Redis
on its own core" pin Redis alone to one core and authd and wrk to the others:

| case | requests | script µs per request | other commands µs | script calls per request |
|---|---|---|---|---|
{redis_load}

With Redis to itself and warm (`bench/redis_parts.py`: authd's own scripts
and commands for each operation sent straight to a private Redis, 32 users'
operations pipelined a batch, nothing else running): what one Redis core
can serve, e.g. a Redis host of its own under many authd instances. Command
µs counts each script once, with the calls it makes:

{redis_parts}

Revocation across instances (three session-mode instances sharing one
Redis; log out on one, poll the other two until each refuses the token):
{propagation}.

{bytes_line} (hash and index; the user's password never changed, so no
credential marker; default prefix `authd:`).

Resident memory of the session-mode instance: {rss_start} at start,
{rss_logins} after the login flood, {rss_end} after the other runs.
"""
pathlib.Path(report).write_text(text)
print(f"\nwrote {report}")
PY
if [ -s "$work/failed" ]; then
  echo "bench: failures in: $(paste -sd, "$work/failed")" >&2
  exit 1
fi
