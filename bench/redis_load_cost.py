"""Redis CPU per request of a wrk case, under load: the counters of
`INFO commandstats` (reset just before the case) divided by the requests wrk
made. Under load Redis runs warm, as it does in a busy deployment; one
operation at a time (bench/redis_cost.py) it runs cold, and the same script
costs several times as much.

    python3 bench/redis_load_cost.py REDIS_PORT REQUESTS LABEL

Prints one Markdown row: label, requests, script µs (EVALSHA/FCALL, the
commands they call included), other commands µs, and the script calls per
request."""

import subprocess
import sys

port, requests, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SCRIPTS = {"evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"}
# Called from inside authd's scripts: their time is in the script's. (DEL is
# also sent directly, once per successful login to clear the account's failure
# counter, about 1.5 µs that the "other" column therefore leaves out.)
IN_SCRIPTS = {"time", "hmget", "hget", "hset", "hsetnx", "pexpireat", "pexpire", "zadd",
              "zremrangebyscore", "zrange", "zrem", "zcard", "pttl", "incr", "decr",
              "hgetall", "unlink", "zrangebyscore", "type", "hexists", "hdel", "del",
              "zpopmin", "exists", "get", "set"}
out = subprocess.run(["redis-cli", "-p", port, "info", "commandstats"], capture_output=True,
                     text=True, check=True).stdout
script = direct = calls = 0
for line in out.splitlines():
    if not line.startswith("cmdstat_"):
        continue
    name, rest = line[len("cmdstat_"):].split(":", 1)
    fields = dict(kv.split("=") for kv in rest.split(","))
    if name in ("info", "config|resetstat", "config"):
        continue
    if name in SCRIPTS:
        script += int(fields["usec"])
        calls += int(fields["calls"])
    elif name not in IN_SCRIPTS:
        direct += int(fields["usec"])
n = max(requests, 1)
print(f"| {label} | {requests:,} | {script / n:.1f} | {direct / n:.1f} | {calls / n:.2f} |")
