#!/usr/bin/env python3
"""DPoP (RFC 9449) interoperability test: authd against joserfc.

authd's own tests make their proofs with the same Rust code that checks
them, so a shared misreading of the RFC (thumbprint members, base64url,
signature encoding, htu) would pass them. Here every key, proof and
thumbprint comes from joserfc, a Python JOSE library the project did not
write, and the server is the real binary, started with a private Redis.

    AUTHD_BIN=/path/to/authd python3 dpop_interop.py

Needs `redis-server` on PATH and the packages of requirements.txt (run.sh
sets them up). Exit code 0: every check passed; 1: a check failed (the
message says which, with the values); 2: the servers could not be started.
"""

import base64
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import warnings

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

# joserfc warns that "EdDSA" is deprecated by RFC 9864 (in favour of the
# fully specified "Ed25519") and that "none" is unsafe. Both are what this
# test means to send: authd's metadata lists "EdDSA", and "none" must be
# refused.
warnings.simplefilter("ignore", SecurityWarning)

# The algorithms authd accepts, and the key each is made with.
ACCEPTED = {
    "ES256": lambda: ECKey.generate_key("P-256"),
    "ES384": lambda: ECKey.generate_key("P-384"),
    "EdDSA": lambda: OKPKey.generate_key("Ed25519"),
    # RFC 9864's fully specified name for EdDSA with Ed25519.
    "Ed25519": lambda: OKPKey.generate_key("Ed25519"),
}

# Requests go straight to 127.0.0.1, whatever http_proxy says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Failure(Exception):
    """A check that did not hold."""


class StartError(Exception):
    """A server that would not start."""


passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok {passed} - {what}", flush=True)


def info(what):
    print(f"# {what}", flush=True)


def check(condition, message):
    if not condition:
        raise Failure(message)


# --- HTTP -------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        body = self.raw.decode("utf-8", "replace")[:500]
        return f"HTTP {self.status} {body!r}"


def call(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with OPENER.open(request, timeout=60) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())


def expect(response, status, what):
    check(response.status == status, f"{what}: expected HTTP {status}, got {response!r}")
    return response.json


def expect_error(response, statuses, code, what):
    statuses = (statuses,) if isinstance(statuses, int) else statuses
    body = response.json or {}
    check(
        response.status in statuses and body.get("error") == code,
        f"{what}: expected HTTP {'/'.join(map(str, statuses))} error {code!r}, got {response!r}",
    )
    return body


# --- DPoP with joserfc ----------------------------------------------------------


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ath(access_token):
    """RFC 9449 §4.2: base64url of the SHA-256 of the access token's ASCII."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def make_proof(key, alg, method, url, access_token=None, nonce=None, jti=None):
    """A DPoP proof JWT as joserfc makes it: the public JWK in the header,
    signed by the private key (no key for alg "none")."""
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    claims = {
        "jti": jti or secrets.token_urlsafe(24),
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
    }
    if access_token is not None:
        claims["ath"] = ath(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    signer = None if alg == "none" else key
    proof = jwt.encode(header, claims, signer, algorithms=[alg], default_type=None)
    # What goes out must hold no private member (authd refuses one anyway).
    sent = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
    check("d" not in sent["jwk"], f"the proof's jwk holds a private member: {sent['jwk']}")
    return proof


def jwt_payload(token):
    """A JWT's claims, not verified (the client only reads cnf.jkt)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def library_thumbprints_match_the_rfcs():
    """The thumbprints compared with authd's are only evidence if joserfc
    computes RFC 7638 right: its values for the RFCs' own example keys."""
    rsa = RSAKey.import_key(
        {
            "kty": "RSA",
            "e": "AQAB",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        }
    )
    check(
        rsa.thumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        f"joserfc's thumbprint of the RFC 7638 §3.1 key is {rsa.thumbprint()}",
    )
    ed = OKPKey.import_key(
        {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    )
    check(
        ed.thumbprint() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
        f"joserfc's thumbprint of the RFC 8037 §A.3 key is {ed.thumbprint()}",
    )
    ok("joserfc's RFC 7638 thumbprints equal RFC 7638 §3.1's and RFC 8037 §A.3's")


# --- servers ------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def redis_pid(port):
    """The process_id the Redis on `port` reports, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
            data = b""
            while b"process_id:" not in data or not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("process_id:"):
            return int(line.split(":", 1)[1])
    return None


class Servers:
    """A private Redis and the authd processes started on it, all stopped
    by close()."""

    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.processes = []
        self.logs = []
        self.redis_port = None

    def start_redis(self):
        for _ in range(5):
            port = free_port()
            with open(os.path.join(self.work, f"redis-{port}.log"), "wb") as log:
                process = subprocess.Popen(
                    ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", self.work],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
            self.processes.append(process)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and process.poll() is None:
                # Ready when the Redis answering is this one, not another
                # process that holds the port.
                if redis_pid(port) == process.pid:
                    self.redis_port = port
                    return
                time.sleep(0.05)
            stop(process)  # exited at start (port taken) or never answered
        raise StartError("redis-server did not start (5 tries)")

    def start_authd(self, name, **settings):
        """Starts authd with `settings` (AUTHD_* variables) on a free port
        and returns its base URL once /healthz answers 200."""
        for _ in range(5):
            port = free_port()
            db = os.path.join(self.work, f"{name}.db")
            # Only the settings given here: nothing inherited (a CI job's
            # AUTHD_* variables), no .env (authd reads one from its working
            # directory, which is the temporary one).
            env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHD_")}
            env.update(
                AUTHD_ENV="development",  # ephemeral signing key, mail to the log
                AUTHD_BIND=f"127.0.0.1:{port}",
                AUTHD_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}",
                AUTHD_REDIS_PREFIX=f"interop-{name}:",
                AUTHD_DATABASE_URL=f"sqlite://{db}?mode=rwc",
                RUST_LOG="warn",
            )
            env.update(settings)
            log_path = os.path.join(self.work, f"authd-{name}-{port}.log")
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [self.binary], env=env, cwd=self.work,
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
            self.processes.append(process)
            self.logs.append(log_path)
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if call("GET", f"{base}/healthz").status == 200:
                        return base
                except OSError:
                    pass
                time.sleep(0.1)
            stop(process)
            text = open(log_path, errors="replace").read()
            if "in use" not in text.lower():
                raise StartError(f"authd ({name}) did not start; its log:\n{text}")
        raise StartError(f"authd ({name}) did not start (5 tries, ports taken)")

    def dump_logs(self):
        for path in self.logs:
            text = open(path, errors="replace").read()
            print(f"# --- {os.path.basename(path)} (last 4000 chars)\n{text[-4000:]}", file=sys.stderr)

    def close(self):
        for process in reversed(self.processes):
            stop(process)


# --- the checks -----------------------------------------------------------------


def register(base, email, password):
    expect(call("POST", f"{base}/api/register", {"email": email, "password": password}), 201,
           f"register {email}")


def metadata_lists_the_algorithms(base):
    meta = expect(call("GET", f"{base}/.well-known/oauth-authorization-server"), 200, "metadata")
    algs = meta.get("dpop_signing_alg_values_supported")
    check(
        isinstance(algs, list) and set(ACCEPTED) <= set(algs) and "RS256" not in algs and "none" not in algs,
        f"dpop_signing_alg_values_supported should list {sorted(ACCEPTED)} and neither RS256 nor none: {algs!r}",
    )
    ok(f"metadata: dpop_signing_alg_values_supported = {algs}")


def rotated_tokens_are_reuse(base):
    """The premise of the "session unchanged" checks: on this server (no
    reuse grace) a refresh token presented after it rotated is refused, so
    a refused request that had rotated the session would be seen."""
    email = f"grace-{secrets.token_hex(4)}@interop.example"
    password = "interop password 1"
    register(base, email, password)
    body = expect(call("POST", f"{base}/api/login", {"email": email, "password": password}),
                  200, "login without a proof")
    check(body.get("token_type") == "Bearer", f"a login without a proof should be Bearer: {body!r}")
    first = body["refresh_token"]
    expect(call("POST", f"{base}/api/token", {"refresh_token": first}), 200, "refresh of an unbound session")
    response = call("POST", f"{base}/api/token", {"refresh_token": first})
    expect_error(response, 400, "invalid_grant", "the rotated refresh token presented again")
    ok("premise: with AUTHD_REFRESH_REUSE_GRACE=0 a rotated refresh token presented again is "
       "400 invalid_grant, so a refresh that works after a refused one shows nothing rotated")


def expect_bound_tokens(body, key, what):
    check(body.get("token_type") == "DPoP", f"{what}: token_type should be 'DPoP': {body!r}")
    claims = jwt_payload(body["access_token"])
    jkt = (claims.get("cnf") or {}).get("jkt")
    mine = key.thumbprint()
    check(
        jkt == mine,
        f"{what}: access token cnf.jkt {jkt!r} != joserfc's RFC 7638 thumbprint {mine!r} "
        f"of the proof's jwk {json.dumps(key.as_dict(private=False), sort_keys=True)}",
    )
    return claims


def full_flow(base, alg):
    """Login, guarded call, refresh, replay, wrong key, logout with one
    joserfc key of `alg`."""
    key = ACCEPTED[alg]()
    other = ACCEPTED[alg]()  # a second key of the same type: only the key differs
    email = f"{alg.lower()}-{secrets.token_hex(4)}@interop.example"
    password = "interop password 1"
    register(base, email, password)
    login_url, token_url = f"{base}/api/login", f"{base}/api/token"
    me_url, logout_url = f"{base}/api/me", f"{base}/api/logout"

    # Login with a proof binds the session to the key.
    response = call("POST", login_url, {"email": email, "password": password},
                    {"DPoP": make_proof(key, alg, "POST", login_url)})
    body = expect(response, 200, f"{alg}: login with a proof")
    claims = expect_bound_tokens(body, key, f"{alg}: login")
    ok(f"{alg}: login with a joserfc proof -> token_type DPoP, cnf.jkt = joserfc thumbprint {claims['cnf']['jkt']}")
    access, refresh = body["access_token"], body["refresh_token"]

    # A guarded route takes the token as DPoP with a proof carrying ath.
    me_proof = make_proof(key, alg, "GET", me_url, access_token=access)
    me = expect(call("GET", me_url, headers={"Authorization": f"DPoP {access}", "DPoP": me_proof}),
                200, f"{alg}: GET /api/me with DPoP and ath")
    check(me.get("email") == email, f"{alg}: /api/me answered another user: {me!r}")
    ok(f"{alg}: GET /api/me with Authorization: DPoP and a proof with ath -> 200, {email}")

    # ... and not without the proof's ath, nor as Bearer, nor twice.
    response = call("GET", me_url, headers={"Authorization": f"DPoP {access}",
                                            "DPoP": make_proof(key, alg, "GET", me_url)})
    expect_error(response, 401, "invalid_dpop_proof", f"{alg}: /api/me with a proof without ath")
    response = call("GET", me_url, headers={"Authorization": f"Bearer {access}"})
    expect_error(response, 401, "invalid_token", f"{alg}: the bound token sent as Bearer")
    response = call("GET", me_url, headers={"Authorization": f"DPoP {access}", "DPoP": me_proof})
    expect_error(response, (400, 401), "invalid_dpop_proof", f"{alg}: /api/me with the same proof again")
    ok(f"{alg}: /api/me refuses a proof without ath (401), the token as Bearer (401), a replayed proof "
       f"({response.status} invalid_dpop_proof)")

    # Refresh with a proof by the key.
    refresh_proof = make_proof(key, alg, "POST", token_url)
    body = expect(call("POST", token_url, {"refresh_token": refresh}, {"DPoP": refresh_proof}),
                  200, f"{alg}: refresh with a proof")
    expect_bound_tokens(body, key, f"{alg}: refresh")
    check(body["refresh_token"] != refresh, f"{alg}: the refresh token did not rotate")
    refresh = body["refresh_token"]
    ok(f"{alg}: refresh with a proof by the key -> 200, rotated, still bound to the same thumbprint")

    # The refresh proof, replayed with the new refresh token, is refused.
    response = call("POST", token_url, {"refresh_token": refresh}, {"DPoP": refresh_proof})
    replay = expect_error(response, (400, 401), "invalid_dpop_proof", f"{alg}: refresh with a replayed proof")
    ok(f"{alg}: a replayed refresh proof -> {response.status} invalid_dpop_proof "
       f"({replay.get('error_description')!r})")

    # A bound session does not refresh without a proof, nor with a proof by
    # another key; and it is left as it was (the server runs with no reuse
    # grace, so had either rotated the token, the next refresh would be
    # reuse and fail).
    response = call("POST", token_url, {"refresh_token": refresh})
    expect_error(response, 400, "invalid_dpop_proof", f"{alg}: refresh of a bound session without a proof")
    response = call("POST", token_url, {"refresh_token": refresh},
                    {"DPoP": make_proof(other, alg, "POST", token_url)})
    wrong = expect_error(response, 400, "invalid_dpop_proof", f"{alg}: refresh with a proof by another key")
    body = expect(call("POST", token_url, {"refresh_token": refresh},
                       {"DPoP": make_proof(key, alg, "POST", token_url)}),
                  200, f"{alg}: refresh with the right key after the refused ones")
    expect_bound_tokens(body, key, f"{alg}: refresh after refused ones")
    refresh, access = body["refresh_token"], body["access_token"]
    ok(f"{alg}: refresh without a proof and with another key's proof -> 400 invalid_dpop_proof "
       f"({wrong.get('error_description')!r}); the same refresh token then refreshes with the right key")

    # The new access token works (its ath is of the new token).
    expect(call("GET", me_url, headers={"Authorization": f"DPoP {access}",
                                        "DPoP": make_proof(key, alg, "GET", me_url, access_token=access)}),
           200, f"{alg}: /api/me with the refreshed access token")

    # Logout: another key's proof ends nothing; the key's proof ends it.
    response = call("POST", logout_url, {"refresh_token": refresh},
                    {"DPoP": make_proof(other, alg, "POST", logout_url)})
    expect_error(response, 400, "invalid_dpop_proof", f"{alg}: logout with a proof by another key")
    expect(call("POST", logout_url, {"refresh_token": refresh},
                {"DPoP": make_proof(key, alg, "POST", logout_url)}),
           204, f"{alg}: logout with a proof by the key (after another key's was refused)")
    response = call("POST", token_url, {"refresh_token": refresh},
                    {"DPoP": make_proof(key, alg, "POST", token_url)})
    expect_error(response, 400, "invalid_grant", f"{alg}: refresh after logout")
    ok(f"{alg}: logout with another key's proof -> 400 invalid_dpop_proof; with the key's -> 204; "
       f"the session is then gone (refresh -> 400 invalid_grant)")


def refused_algorithms(base):
    """Proofs authd must refuse whatever their signature: RS256 (not on its
    list) and alg none; then a good proof logs the same user in."""
    email = f"refused-{secrets.token_hex(4)}@interop.example"
    password = "interop password 1"
    register(base, email, password)
    url = f"{base}/api/login"
    login = {"email": email, "password": password}

    rsa = RSAKey.generate_key(2048)
    response = call("POST", url, login, {"DPoP": make_proof(rsa, "RS256", "POST", url)})
    body = expect_error(response, 400, "invalid_dpop_proof", "login with an RS256 proof (joserfc RSA key)")
    check("access_token" not in body, f"an RS256 proof got tokens: {body!r}")
    ok(f"RS256 proof by a joserfc RSA key -> 400 invalid_dpop_proof ({body.get('error_description')!r})")

    ed = OKPKey.generate_key("Ed25519")
    proof = make_proof(ed, "none", "POST", url)
    check(proof.endswith("."), f"joserfc's alg none proof should have an empty signature: {proof}")
    response = call("POST", url, login, {"DPoP": proof})
    body = expect_error(response, 400, "invalid_dpop_proof", "login with an alg none proof")
    ok(f"alg none proof (empty signature) -> 400 invalid_dpop_proof ({body.get('error_description')!r})")

    key = ACCEPTED["ES256"]()
    body = expect(call("POST", url, login, {"DPoP": make_proof(key, "ES256", "POST", url)}),
                  200, "login after the refused proofs, with an ES256 proof")
    expect_bound_tokens(body, key, "login after the refused proofs")
    ok("the same user then logs in with an ES256 proof (the refusals were the proofs')")


def nonces(base):
    """AUTHD_DPOP_NONCE=true: a proof without the server's nonce gets
    use_dpop_nonce and a DPoP-Nonce to retry with."""
    for alg in ACCEPTED:
        key = ACCEPTED[alg]()
        email = f"nonce-{alg.lower()}-{secrets.token_hex(4)}@interop.example"
        password = "interop password 1"
        register(base, email, password)
        login_url, token_url = f"{base}/api/login", f"{base}/api/token"
        login = {"email": email, "password": password}

        response = call("POST", login_url, login, {"DPoP": make_proof(key, alg, "POST", login_url)})
        expect_error(response, 400, "use_dpop_nonce", f"nonce {alg}: login proof without a nonce")
        nonce = response.headers.get("DPoP-Nonce")
        check(nonce, f"nonce {alg}: use_dpop_nonce came without a DPoP-Nonce header: {dict(response.headers)}")

        response = call("POST", login_url, login,
                        {"DPoP": make_proof(key, alg, "POST", login_url, nonce=nonce)})
        body = expect(response, 200, f"nonce {alg}: login retried with the DPoP-Nonce {nonce!r}")
        expect_bound_tokens(body, key, f"nonce {alg}: login with nonce")
        ok(f"nonce {alg}: login proof without nonce -> 400 use_dpop_nonce + DPoP-Nonce; retry with it -> 200 DPoP")

        # The token response carries the next nonce; a refresh proof needs one.
        next_nonce = response.headers.get("DPoP-Nonce")
        check(next_nonce, f"nonce {alg}: the token response has no DPoP-Nonce header: {dict(response.headers)}")
        refresh = body["refresh_token"]
        response = call("POST", token_url, {"refresh_token": refresh},
                        {"DPoP": make_proof(key, alg, "POST", token_url)})
        expect_error(response, 400, "use_dpop_nonce", f"nonce {alg}: refresh proof without a nonce")
        response = call("POST", token_url, {"refresh_token": refresh},
                        {"DPoP": make_proof(key, alg, "POST", token_url, nonce=next_nonce)})
        expect_bound_tokens(expect(response, 200, f"nonce {alg}: refresh with the token response's nonce"),
                            key, f"nonce {alg}: refresh")
        ok(f"nonce {alg}: refresh without nonce -> 400 use_dpop_nonce; with the token response's "
           f"DPoP-Nonce -> 200 (same refresh token: the refusal changed nothing)")


def main():
    binary = os.environ.get("AUTHD_BIN", "")
    if not binary or not os.access(binary, os.X_OK):
        print(f"AUTHD_BIN must name the authd binary (got {binary!r})", file=sys.stderr)
        return 2
    binary = os.path.abspath(binary)  # authd runs in a temporary directory
    # SIGTERM (a CI timeout) still stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="authd-interop-")
    servers = Servers(binary, work)
    try:
        servers.start_redis()
        # No reuse grace: a refresh token that had been rotated by a request
        # refused for its proof would then fail as reused, so "the session
        # is unchanged" is observable.
        plain = servers.start_authd("plain", AUTHD_REFRESH_REUSE_GRACE="0")
        nonce = servers.start_authd("nonce", AUTHD_REFRESH_REUSE_GRACE="0", AUTHD_DPOP_NONCE="true")
        info(f"authd {binary} at {plain} and, with AUTHD_DPOP_NONCE=true, {nonce}; "
             f"redis on {servers.redis_port}")

        library_thumbprints_match_the_rfcs()
        metadata_lists_the_algorithms(plain)
        rotated_tokens_are_reuse(plain)
        for alg in ACCEPTED:
            full_flow(plain, alg)
        refused_algorithms(plain)
        nonces(nonce)
    except StartError as error:
        print(f"could not start the servers: {error}", file=sys.stderr)
        return 2
    except Failure as failure:
        print(f"not ok - {failure}", file=sys.stderr)
        servers.dump_logs()
        return 1
    except Exception:
        traceback.print_exc()
        servers.dump_logs()
        return 1
    finally:
        servers.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"PASS: {passed} checks, joserfc proofs accepted and refused as RFC 9449 says")
    return 0


if __name__ == "__main__":
    sys.exit(main())
