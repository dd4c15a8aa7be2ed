"""Where a rotation's Redis time goes: authd's session library as the
service loads it (common.lua, upgrade.lua, one function per script), plus
cut-down copies of rotate.lua, each run 9,600 times (32 sessions, batches
of 32) against a private redis-server; µs per FCALL from INFO commandstats.

    python3 bench/rotation_parts.py

- full: rotate.lua as it is;
- no_writes: without its four writes (HSET, ZADD, two PEXPIREAT);
- hmget_only: the one read and a reply;
- time_only: the Redis clock and a reply (what any call costs: 9
  arguments in, a 4-element reply out);
- create: create.lua, a login's session: 9,600 logins of 3,200 users,
  each user's three one after the other (an empty index, then one and
  two sessions in it)."""

import os
import socket
import subprocess
import time

port = int(subprocess.run(["python3", "-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"],
                          capture_output=True, text=True, check=True).stdout)
server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                          stdout=subprocess.DEVNULL)
for _ in range(100):
    if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
        break
    time.sleep(0.05)
# The library's constants, as authd writes them (src/sessions/store.rs).
common = "local IDLE_MS, GRACE_MS = 2592000000, 10000\n" + open("src/sessions/scripts/common.lua").read() + open("src/sessions/scripts/upgrade.lua").read()
rotate = open("src/sessions/scripts/rotate.lua").read()
create = open("src/sessions/scripts/create.lua").read()
variants = {
 "full": rotate,
 "no_writes": rotate.replace("redis.call('HSET', KEYS[1], 'p', cur, 'c', ARGV[5], 'n', ARGV[4], 'u', int(now))", "").replace("redis.call('PEXPIREAT', KEYS[1], at)","").replace(rotate[rotate.index("  if redis.call('ZADD'"):rotate.index("    reindex(KEYS[2], now)\n  end\n") + len("    reindex(KEYS[2], now)\n  end\n")], ""),
 "hmget_only": "local s = redis.call('HMGET', KEYS[1], 'f', 'c', 'p', 'n', 'u', 'e', 'v', 'k', 'm')\nreturn { 'rotated', 1, 2, 0 }",
 "time_only": "local now = now_ms()\nreturn { 'rotated', 1, 2, 0 }",
}
lib = "#!lua name=bis\n" + common
for k, v in variants.items():
    lib += f"redis.register_function('bis_{k}', function(KEYS, ARGV)\n{v}\nend)\n"
lib += f"redis.register_function('bis_create', function(KEYS, ARGV)\n{create}\nend)\n"
subprocess.run(["redis-cli","-p",str(port),"-x","function","load","replace"],input=lib.encode(),capture_output=True,check=True)
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        if isinstance(a, str): a = a.encode()
        if isinstance(a, int): a = str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out
def read():
    line = f.readline(); t = line[:1]
    if t in b"+-:": return line[1:-2]
    if t == b"$":
        n = int(line[1:-2]); return None if n < 0 else f.read(n+2)[:-2]
    if t == b"*": return [read() for _ in range(int(line[1:-2]))]
    raise Exception(line)
for variant in variants:
    sessions = []
    for i in range(32):
        u = "u%032d" % i; sid = "%s%028d" % (variant[:4], i)
        keys = [f"p:{{u:{u}}}:s:{sid}", f"p:{{u:{u}}}:sessions", f"p:{{u:{u}}}:credential"]
        fam = os.urandom(16); cur = os.urandom(16)
        s.sendall(enc("FCALL", "bis_create", 3, *keys, sid, fam, cur, 2592000000, 7776000000, "phone", "Mozilla", "127.0.0.1", 1, f"p:{{u:{u}}}:s:", 100, "", "", "")); r = read(); assert r[0] == b"created", r
        sessions.append([u, sid, fam, cur])
    subprocess.run(["redis-cli","-p",str(port),"config","resetstat"],capture_output=True)
    for _ in range(300):
        batch = b""
        for ss in sessions:
            u, sid, fam, cur = ss; nxt = os.urandom(16)
            keys = [f"p:{{u:{u}}}:s:{sid}", f"p:{{u:{u}}}:sessions", f"p:{{u:{u}}}:reused:{sid}"]
            batch += enc("FCALL", f"bis_{variant}", 3, *keys, sid, fam, cur, os.urandom(16), nxt, "")
            if variant == "full": ss[3] = nxt
        s.sendall(batch)
        for ss in sessions:
            r = read(); assert r[0] == b"rotated", (variant, r)
    st = subprocess.run(["redis-cli","-p",str(port),"info","commandstats"],capture_output=True,text=True).stdout
    line = next(l for l in st.splitlines() if l.startswith("cmdstat_fcall:"))
    print(f"{variant:<11} {line.split('usec_per_call=')[1].split(',')[0]} µs per FCALL")
subprocess.run(["redis-cli","-p",str(port),"config","resetstat"],capture_output=True)
for round in range(3):
    for first in range(0, 3200, 32):
        batch = b""
        for i in range(first, first + 32):
            u = "c%031d" % i; sid = "c%d%030d" % (round, i)
            keys = [f"p:{{u:{u}}}:s:{sid}", f"p:{{u:{u}}}:sessions", f"p:{{u:{u}}}:credential"]
            batch += enc("FCALL", "bis_create", 3, *keys, sid, os.urandom(16), os.urandom(16), 2592000000, 7776000000, "phone", "Mozilla", "127.0.0.1", 1, f"p:{{u:{u}}}:s:", 100, "", "", "")
        s.sendall(batch)
        for i in range(32):
            r = read(); assert r[0] == b"created", r
st = subprocess.run(["redis-cli","-p",str(port),"info","commandstats"],capture_output=True,text=True).stdout
line = next(l for l in st.splitlines() if l.startswith("cmdstat_fcall:"))
print(f"{'create':<11} {line.split('usec_per_call=')[1].split(',')[0]} µs per FCALL")
server.terminate()
