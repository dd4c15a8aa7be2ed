#!/usr/bin/env python3
"""Runs the README's walk-through as written, so it cannot drift.

    python3 .ci/walkthrough.py AUTHD_BIN [README]

Takes every ```sh block of the section "A walk-through with curl" (up to
the next "## " heading), in order, as one bash script, and runs it with
`set -euo pipefail` in a fresh directory against a fresh authd (its own
redis-server and SQLite file, on free ports), whose log goes to
`authd.log` there, as the README tells a reader to do. Three rewrites only:
`127.0.0.1:8080` and the development provider's `9999` become the free
ports; a line that starts authd with `cargo run --release` restarts this
authd with that line's variables. Where a curl command is followed by a
comment that starts with a status (`# 204 …`), that status is checked.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## A walk-through with curl"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blocks(readme):
    """The sh blocks of the walk-through section, with their first line number."""
    lines = readme.splitlines()
    start = lines.index(SECTION)
    found, current, first = [], None, 0
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if current is None and line.startswith("## "):
            break
        if current is None and line.strip() == "```sh":
            current, first = [], number + 1
        elif current is not None and line.strip() == "```":
            found.append((first, current))
            current = None
        elif current is not None:
            current.append(line)
    if not found:
        sys.exit(f"walkthrough: no sh blocks under {SECTION!r} in README.md")
    return found


STATUS = re.compile(r"^#\s+(\d{3})\b")


def script(found, authd_port, provider_port):
    """One bash script: the blocks, each curl with a status comment checked."""
    out = []
    for first, lines in found:
        out.append(f"# README.md line {first}")
        i = 0
        while i < len(lines):
            number = first + i
            command = [lines[i]]
            while command[-1].rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                command.append(lines[i])
            i += 1
            text = "\n".join(command)
            text = text.replace("127.0.0.1:8080", f"127.0.0.1:{authd_port}")
            text = re.sub(r"\b9999\b", str(provider_port), text)
            text = re.sub(r"cargo run --release\b.*$", "restart_authd", text, flags=re.M)
            following = lines[i] if i < len(lines) else ""
            expected = STATUS.match(following.strip())
            if expected and re.search(r"(^|\$\()\s*curl\b", text):
                out.append(': > "$STATUS_FILE"')
                out.append(text)
                out.append(f"expect_status {expected.group(1)} {number}")
            else:
                out.append(text)
    return "\n".join(out) + "\n"


PRELUDE = r"""
set -euo pipefail
# Each curl appends the status it got to $STATUS_FILE (its only stderr: -s).
curl() { command curl -w '%{stderr}%{http_code}\n' "$@" 2>>"$STATUS_FILE"; }
expect_status() {
  local got
  got=$(tail -n 1 "$STATUS_FILE")
  if [ "$got" != "$1" ]; then
    echo "walkthrough: README.md line $2: expected HTTP $1, got ${got:-nothing}" >&2
    exit 1
  fi
}
# `cargo run --release` in the README: this authd, restarted with the
# variables of that line (bash exports a function's prefix assignments).
restart_authd() {
  if [ -s authd.pid ]; then kill "$(cat authd.pid)" 2>/dev/null || true; sleep 0.5; fi
  "$AUTHD_BIN" >>authd.log 2>&1 &
  echo $! > authd.pid
  for _ in $(seq 200); do
    command curl -sf "http://$AUTHD_BIND/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "walkthrough: authd did not start; its log:" >&2; tail -n 20 authd.log >&2; exit 1
}
restart_authd
"""


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    authd_bin = os.path.abspath(sys.argv[1])
    readme = Path(sys.argv[2]) if len(sys.argv) == 3 else ROOT / "README.md"
    found = blocks(readme.read_text())
    work = Path(tempfile.mkdtemp(prefix="authd-walkthrough-"))
    redis_port, authd_port, provider_port = free_port(), free_port(), free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        cwd=work,
    )
    body = PRELUDE + script(found, authd_port, provider_port)
    (work / "walkthrough.sh").write_text(body)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AUTHD_") or k == "AUTHD_BIN"
    }
    env.update(
        AUTHD_BIN=authd_bin,
        AUTHD_BIND=f"127.0.0.1:{authd_port}",
        AUTHD_REDIS_URL=f"redis://127.0.0.1:{redis_port}",
        AUTHD_DATABASE_URL=f"sqlite://{work}/authd.db?mode=rwc",
        STATUS_FILE=str(work / "status"),
    )
    started = time.monotonic()
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", redis_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        # Run from a copy of the repository's root so relative paths hold,
        # with tokens.json and authd.log in the work directory.
        for name in ("clients", "scripts"):
            if (ROOT / name).exists():
                os.symlink(ROOT / name, work / name)
        # What the commands print goes to output.txt, shown on failure.
        with open(work / "output.txt", "w") as output:
            result = subprocess.run(
                ["bash", "-c", "trap 'kill $(jobs -p) 2>/dev/null; [ -s authd.pid ] && kill $(cat authd.pid) 2>/dev/null; true' EXIT\n. ./walkthrough.sh"],
                cwd=work,
                env=env,
                stdout=output,
            )
    finally:
        redis.terminate()
        redis.wait()
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = (work / "output.txt").read_text().splitlines()[-15:]
        print("\n".join(tail), file=sys.stderr)
        print(f"walkthrough: failed after {seconds:.0f} s; the script, output.txt and authd.log are in {work}", file=sys.stderr)
        sys.exit(1)
    lines = sum(len(block) for _, block in found)
    checked = body.count("\nexpect_status ")
    print(f"walkthrough: {len(found)} blocks ({lines} lines, {checked} statuses checked) ran in {seconds:.0f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
