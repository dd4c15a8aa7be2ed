#!/usr/bin/env python3
"""Login timing: does a wrong password for a real account take the same time
as an unknown email? Starts a release authd against a private Redis,
alternates the two kinds of failed login, and prints both medians.

    python3 bench/login_timing.py [rounds, default 300]

Needs: redis-server and a release build (cargo build --release). Loopback only.
"""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request, urllib.error

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", "/var/tmp/authd-target")
BIN = os.path.join(TARGET, "release", "authd")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def post(base, path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"content-type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req) as res:
            status = res.status
            res.read()
    except urllib.error.HTTPError as e:
        status = e.code
        e.read()
    return status, time.perf_counter() - start


def main():
    work = tempfile.mkdtemp()
    procs = []
    try:
        rport, aport = free_port(), free_port()
        procs.append(subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL))
        env = dict(os.environ, AUTHD_BIND=f"127.0.0.1:{aport}", AUTHD_REDIS_URL=f"redis://127.0.0.1:{rport}",
                   AUTHD_DATABASE_URL=f"sqlite://{work}/authd.db", AUTHD_LOGIN_MAX_FAILURES="1000000",
                   AUTHD_LOGIN_MAX_FAILURES_PER_IP="1000000", RUST_LOG="warn")
        procs.append(subprocess.Popen([BIN], env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{aport}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz").read()
                break
            except OSError:
                time.sleep(0.1)
        assert post(base, "/api/register", {"email": "real@example.com", "password": "the real password"})[0] == 201
        known, unknown = [], []
        for i in range(ROUNDS + 10):
            s1, t1 = post(base, "/api/login", {"email": "real@example.com", "password": "a wrong password"})
            s2, t2 = post(base, "/api/login", {"email": f"nobody-{i}@example.com", "password": "a wrong password"})
            assert (s1, s2) == (400, 400), (s1, s2)
            if i >= 10:  # warm-up
                known.append(t1 * 1000)
                unknown.append(t2 * 1000)
        mk, mu = statistics.median(known), statistics.median(unknown)
        q = lambda xs, p: sorted(xs)[int(len(xs) * p)]
        print(f"{ROUNDS} rounds, alternating, release build, 2 cores")
        print(f"wrong password, existing account: median {mk:.2f} ms  p10 {q(known, .1):.2f}  p90 {q(known, .9):.2f}")
        print(f"unknown email:                    median {mu:.2f} ms  p10 {q(unknown, .1):.2f}  p90 {q(unknown, .9):.2f}")
        print(f"difference of medians: {mk - mu:+.2f} ms ({(mk - mu) / mu * 100:+.1f} %)")
    finally:
        for p in procs:
            p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
