"""Redis time of authd's operations, and of a rotation's parts, with Redis
to itself and warm: authd's own scripts (the session library as the service
loads it, the throttle scripts as it sends them) against a private
redis-server, 32 users' operations pipelined per batch; µs per operation from
INFO commandstats (command time, without parsing and networking) and the
Redis process's CPU time (with them).

    python3 bench/redis_parts.py              # both tables
    python3 bench/redis_parts.py --markdown   # the operations, for BENCHMARKS.md
    python3 bench/redis_parts.py --callgrind  # instructions instead of time

With --callgrind, redis-server runs under valgrind's callgrind, and each
operation is reported in the instructions Redis ran for it (the whole
process, from the request's bytes to the reply's): a count that repeats
from run to run whatever else the machine does, where times on a shared
machine drift by tens of percent.

Operations, with every Redis command each one sends:
- login: the two throttle slots (the account's and the client's: FCALL
  attempt.lua), the session (FCALL create), the account's failures cleared
  (DEL) and the client's slot given back (FCALL give_back.lua); 3,200
  users logging in three times each (an empty index, then one and two
  sessions in it);
- refresh: one rotation (FCALL rotate); 32 sessions, 300 rounds;
- guard miss: the guard's read when it holds no answer (EXISTS);
- logout: FCALL revoke of one session (each session the logins made).

Parts of a rotation, cut-down copies of rotate.lua (9 arguments in, a reply
out), 32 sessions, 300 rounds:
- no_writes: without its writes (HSET, PEXPIREAT, ZADD and the index's);
- hmget_only: the one read and a reply;
- time_only: the Redis clock and a reply (what any call costs)."""

import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

port = int(subprocess.run(["python3", "-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"],
                          capture_output=True, text=True, check=True).stdout)
callgrind = "--callgrind" in sys.argv
profile_dir = tempfile.mkdtemp() if callgrind else None
wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile_dir}/out.%p"] if callgrind else []
server = subprocess.Popen(wrapper + ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(600 if callgrind else 100):
    if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
        break
    time.sleep(0.05)

def source(path):
    return open(path).read()

# The library's constants, as authd writes them (src/sessions/library.rs).
common = "local IDLE_MS, GRACE_MS = 2592000000, 10000\n" + source("src/sessions/scripts/common.lua") + source("src/sessions/scripts/upgrade.lua")
rotate = source("src/sessions/scripts/rotate.lua")
zadd_block = rotate[rotate.index("  if redis.call('ZADD'"):]
zadd_block = zadd_block[:zadd_block.index("\n  end\n") + len("\n  end\n")]
functions = {
    "create": source("src/sessions/scripts/create.lua"),
    "rotate": rotate,
    "revoke": source("src/sessions/scripts/revoke.lua"),
    "no_writes": rotate.replace("redis.call('HSET', KEYS[1], 'p', cur, 'c', ARGV[5], 'n', ARGV[4], 'u', int(now))", "")
                       .replace("redis.call('PEXPIREAT', KEYS[1], at)", "").replace(zadd_block, ""),
    "hmget_only": "local s = redis.call('HMGET', KEYS[1], 'f', 'c', 'p', 'n', 'u', 'e', 'v', 'k', 'm')\nreturn { 'rotated', 1, 2, 0, '' }",
    "time_only": "local now = now_ms()\nreturn { 'rotated', 1, 2, 0, '' }",
    # The throttle's functions (authd loads them as a library of their own,
    # src/throttle/mod.rs; the same code).
    "attempt": source("src/throttle/scripts/attempt.lua"),
    "give_back": source("src/throttle/scripts/give_back.lua"),
}
lib = "#!lua name=bis\n" + common + "".join(
    f"redis.register_function('bis_{name}', function(KEYS, ARGV)\n{body}\nend)\n" for name, body in functions.items())
subprocess.run(["redis-cli", "-p", str(port), "-x", "function", "load", "replace"], input=lib.encode(), capture_output=True, check=True)
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")

def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

def read():
    line = f.readline()
    t = line[:1]
    if t == b"-":
        raise Exception(line)
    if t in b"+:":
        return line[1:-2]
    if t == b"$":
        n = int(line[1:-2])
        return None if n < 0 else f.read(n + 2)[:-2]
    if t == b"*":
        return [read() for _ in range(int(line[1:-2]))]
    raise Exception(line)

def call(*args):
    s.sendall(enc(*args))
    return read()

def pipeline(commands):
    s.sendall(b"".join(enc(*c) for c in commands))
    return [read() for _ in commands]

def commandstats():
    out = {}
    for line in call("INFO", "commandstats").decode().splitlines():
        if line.startswith("cmdstat_") and not line.startswith(("cmdstat_config", "cmdstat_info")):
            name, fields = line[len("cmdstat_"):].split(":", 1)
            kv = dict(p.split("=") for p in fields.split(","))
            out[name] = (int(kv["calls"]), int(kv["usec"]))
    return out

def cpu_usec():
    # The Redis process's time on a CPU (/proc schedstat, every thread).
    total = 0
    for task in os.listdir(f"/proc/{server.pid}/task"):
        with open(f"/proc/{server.pid}/task/{task}/schedstat") as stat:
            total += int(stat.read().split()[0])
    return total / 1000

def measured(ops, run, direct=()):
    """Runs `run` between a stats reset and a read. Returns the µs per op of
    the commands sent (a script's time includes the commands it calls, which
    Redis also counts under their own names: `direct` names the commands sent
    outside scripts, once per op), the Redis process's CPU µs per op, and the
    calls behind them."""
    call("CONFIG", "RESETSTAT")
    if callgrind:
        subprocess.run(["callgrind_control", "-z", str(server.pid)], capture_output=True, check=True)
    before = cpu_usec()
    run()
    cpu = (cpu_usec() - before) / ops
    if callgrind:
        # The instructions since the zeroing, from the dump callgrind writes.
        subprocess.run(["callgrind_control", "-d", str(server.pid)], capture_output=True, check=True)
        dump = max(pathlib.Path(profile_dir).glob("out.*.*"), key=lambda p: int(p.suffix[1:]))
        summary = next(l for l in dump.read_text().splitlines() if l.startswith("summary:"))
        cpu = int(summary.split()[1]) / ops
    stats = commandstats()
    scripts = sum(usec for name, (_, usec) in stats.items() if name in ("fcall", "evalsha"))
    # A direct command's share of its name's time (DEL is also called in a script).
    sent = sum(usec * ops / calls for name, (calls, usec) in stats.items() if name in direct)
    detail = ", ".join(f"{name} {calls / ops:.0f}x {usec / calls:.1f}" for name, (calls, usec) in
                       sorted(stats.items(), key=lambda kv: -kv[1][1]))
    return (scripts + sent) / ops, cpu, detail

def create_args(user, sid):
    keys = [f"p:{{u:{user}}}:s:{sid}", f"p:{{u:{user}}}:sessions", f"p:{{u:{user}}}:credential"]
    return ("FCALL", "bis_create", 3, *keys, sid, os.urandom(16), os.urandom(16), 7776000000,
            "phone", "Mozilla", "127.0.0.1", 1, f"p:{{u:{user}}}:s:", 100, "", "", "")

rows = {}
logged_in = []

def logins():
    for round in range(3):
        for first in range(0, 3200, 32):
            batch = []
            for i in range(first, first + 32):
                user, sid = "c%031d" % i, "c%d%030d" % (round, i)
                account, client = f"p:{{login:{user}}}", f"p:{{ip:10.0.0.{i % 32}}}:login"
                batch += [("FCALL", "bis_attempt", 1, account, 10, 900000), ("FCALL", "bis_attempt", 1, client, 100, 900000),
                          create_args(user, sid), ("DEL", account), ("FCALL", "bis_give_back", 1, client, "one")]
                logged_in.append((user, sid))
            replies = pipeline(batch)
            assert all(r[0] == b"created" for r in replies[2::5]), replies
rows["login"] = measured(9600, logins, direct=("del",))

sessions = []
for i in range(32):
    user, sid, fam, cur = "u%031d" % i, "r%031d" % i, os.urandom(16), os.urandom(16)
    c = list(create_args(user, sid))
    c[7], c[8] = fam, cur
    assert call(*c)[0] == b"created"
    sessions.append([user, sid, fam, cur])

def rotations(function):
    def run():
        for _ in range(300):
            batch, successors = [], []
            for user, sid, fam, cur in sessions:
                successors.append(os.urandom(16))
                keys = [f"p:{{u:{user}}}:s:{sid}", f"p:{{u:{user}}}:sessions", f"p:{{u:{user}}}:reused:{sid}"]
                batch.append(("FCALL", f"bis_{function}", 3, *keys, sid, fam, cur, os.urandom(16), successors[-1], ""))
            replies = pipeline(batch)
            assert all(r[0] == b"rotated" for r in replies), (function, replies)
            if function == "rotate":
                for ss, successor in zip(sessions, successors):
                    ss[3] = successor
    return run
rows["refresh"] = measured(9600, rotations("rotate"))

def guard_misses():
    for _ in range(300):
        pipeline([("EXISTS", f"p:{{u:{user}}}:s:{sid}") for user, sid, _, _ in sessions])
rows["guard miss"] = measured(9600, guard_misses, direct=("exists",))

def logouts():
    for first in range(0, len(logged_in), 32):
        replies = pipeline([("FCALL", "bis_revoke", 2, f"p:{{u:{user}}}:s:{sid}", f"p:{{u:{user}}}:sessions", sid, "", "")
                            for user, sid in logged_in[first:first + 32]])
        assert all(r == b"1" for r in replies), replies
rows["logout"] = measured(len(logged_in), logouts)

cpu_column = "Redis instructions (callgrind)" if callgrind else "Redis process CPU µs"
print(f"| operation | command µs | {cpu_column} | calls per operation, µs per call (a script's own calls included) |")
print("|---|---|---|---|")
for name, (total, cpu, detail) in rows.items():
    print(f"| {name} | {total:.1f} | {cpu:,.0f} | {detail} |" if callgrind else f"| {name} | {total:.1f} | {cpu:.1f} | {detail} |")
if "--markdown" not in sys.argv and not callgrind:
    print()
    for part in ("rotate", "no_writes", "hmget_only", "time_only"):
        total, _, _ = measured(9600, rotations(part))
        print(f"{part:<11} {total:.2f} µs per FCALL")
server.terminate()
