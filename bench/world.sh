# Sourced by bench/run.sh and .ci/schemathesis.sh (from the repository's
# root): a temporary directory and the processes started in it, stopped on
# exit; free ports; a private Redis; an authd started and waited for.

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# A private Redis that keeps nothing on disk; its port in $rport.
start_redis() {
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
  pids+=($!)
}

# run_authd BINARY PORT [VARIABLE=value ...]: starts authd on 127.0.0.1:PORT
# with those settings (its log in $work/authd-PORT.log), and returns once
# /healthz answers.
run_authd() {
  local bin=$1 port=$2
  shift 2
  env AUTHD_BIND="127.0.0.1:$port" RUST_LOG=warn "$@" "$bin" >"$work/authd-$port.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "authd did not start on port $port" >&2
  exit 1
}

# A free port whose cluster bus port (+10000) is free too, for Redis Cluster.
cluster_port() { python3 -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p < 55535:
        try:
            b = socket.socket(); b.bind(("127.0.0.1", p + 10000)); b.close(); print(p); break
        except OSError: pass
    s.close()'; }
