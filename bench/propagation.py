#!/usr/bin/env python3
"""Revocation propagation: how long after a logout answered 204 on one
instance the other instances refuse the session's access token.
usage: propagation.py ENDING_URL OTHER_URL[,OTHER_URL...] EMAIL PASSWORD [ROUNDS]
Each round logs in (on the ending instance), makes every other instance
answer 200 for the token twice (so each holds the session's liveness in
memory), logs out on the ending instance, then polls the others in turn
until each has refused the token once; each refusal's delay is one sample."""
import http.client, json, sys, time, urllib.parse

ending, others, email, password = sys.argv[1:5]
others = others.split(",")
rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 50


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=5)


def call(c, method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    c.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = c.getresponse()
    data = r.read()
    return r.status, data


a = conn(ending)
polled = [conn(o) for o in others]
delays = []
for _ in range(rounds):
    status, data = call(a, "POST", "/api/login", {"email": email, "password": password})
    assert status == 200, (status, data)
    token = json.loads(data)["access_token"]
    for b in polled:
        for _ in range(2):
            assert call(b, "GET", "/api/secure", token=token)[0] == 200
    status, _ = call(a, "POST", "/api/logout", token=token)
    assert status == 204
    ended = time.perf_counter()
    waiting = list(polled)
    while waiting:
        for b in list(waiting):
            status, _ = call(b, "GET", "/api/secure", token=token)
            if status == 401:
                delays.append((time.perf_counter() - ended) * 1000)
                waiting.remove(b)
            else:
                assert status == 200, status
        assert time.perf_counter() - ended < 1.0, "not refused within 1 s"
delays.sort()
p = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
print(
    f"revocation reached the {len(others)} other instances: p50 {p(0.5):.2f} ms, "
    f"p99 {p(0.99):.2f} ms, max {delays[-1]:.2f} ms over {rounds} logouts"
)
