"""Redis CPU per authd operation: login, refresh, guard miss, logout.

    python3 bench/redis_cost.py AUTHD_URL GUARD_MISS_URL REDIS_PORT REDIS_PID [N]

AUTHD_URL: an authd; GUARD_MISS_URL: an authd on the same Redis in session
mode with AUTHD_GUARD_CACHE_ENTRIES=0 (every guarded request asks Redis).
N users (registered first) log in once each; one of them refreshes a chain
of N; a token is checked N times; the N sessions log out. Each operation
runs N times, one after another, between `CONFIG RESETSTAT`
and `INFO commandstats`; reported per operation:

- script µs: `usec` of EVALSHA/EVAL/FCALL (the scripts' whole run, the
  commands they call included);
- command µs: `usec` of every other command called directly (not from a
  script; Redis counts those separately too, so they are told apart by the
  script's own commands, which this run calls only from scripts);
- process µs: the Redis process's CPU time (/proc schedstat, every thread),
  parsing and networking included.

Prints a Markdown table and the commands behind the refresh."""

import http.client
import json
import os
import subprocess
import sys
import urllib.parse

authd, guard_url, port, pid = sys.argv[1:5]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 200
SCRIPTS = {"evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"}
# Commands that authd's scripts call and authd never calls directly.
IN_SCRIPTS = {"time", "hmget", "hget", "hset", "hsetnx", "pexpireat", "pexpire", "zadd",
              "zremrangebyscore", "zrange", "zrem", "zcard", "pttl", "incr", "decr",
              "hgetall", "unlink", "zrangebyscore", "type", "hexists", "hdel", "del"}


def cli(*args):
    return subprocess.run(["redis-cli", "-p", port, *args], capture_output=True,
                          text=True, check=True).stdout


def stats():
    out = {}
    for line in cli("info", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_"):].split(":", 1)
            fields = dict(kv.split("=") for kv in rest.split(","))
            out[name] = (int(fields["calls"]), int(fields["usec"]))
    return out


def cpu_usec():
    # Nanoseconds on a CPU, summed over the process's threads.
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1000


def request(base, method, path, body=None, token=None):
    url = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    res = conn.getresponse()
    data = res.read()
    conn.close()
    if res.status >= 300:
        raise SystemExit(f"{method} {path}: {res.status} {data[:200]!r}")
    return json.loads(data) if data else None


def measure(label, action):
    cli("config", "resetstat")
    before = cpu_usec()
    for i in range(n):
        action(i)
    cpu = cpu_usec() - before
    s = stats()
    s.pop("info", None)
    s.pop("config", None)
    script = sum(u for name, (_, u) in s.items() if name in SCRIPTS)
    direct = sum(u for name, (_, u) in s.items() if name not in SCRIPTS and name not in IN_SCRIPTS)
    return label, script / n, direct / n, cpu / n, s


# One session per user, as most users have: N accounts, each logging in once.
password = "bench password 123"
emails = [f"redis-cost-{i}@example.com" for i in range(n)]
for email in emails:
    request(authd, "POST", "/api/register", {"email": email, "password": password})
pairs = []
rows = [measure("login", lambda i: pairs.append(
    request(authd, "POST", "/api/login", {"email": emails[i], "password": password})))]
chain = [pairs[0]["refresh_token"]]


def refresh(i):
    chain.append(request(authd, "POST", "/api/token", {"refresh_token": chain[-1]})["refresh_token"])


rows.append(measure("refresh", refresh))
refresh_stats = rows[-1][4]
token = pairs[1]["access_token"]
rows.append(measure("guard miss", lambda i: request(guard_url, "GET", "/api/secure", token=token)))
rows.append(measure("logout", lambda i: request(
    authd, "POST", "/api/logout", {"refresh_token": pairs[i]["refresh_token"]})))

print(f"| operation ({n} each) | script µs | other commands µs | Redis process CPU µs |")
print("|---|---|---|---|")
for label, script, direct, cpu, _ in rows:
    print(f"| {label} | {script:.1f} | {direct:.1f} | {cpu:.1f} |")
print()
print("refresh, per call: " + ", ".join(
    f"{name} {calls / n:.1f}x {usec / max(calls, 1):.1f} µs"
    for name, (calls, usec) in sorted(refresh_stats.items(), key=lambda kv: -kv[1][1])))
