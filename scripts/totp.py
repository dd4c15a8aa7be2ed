#!/usr/bin/env python3
"""The code an authenticator app shows for a TOTP secret (RFC 6238: SHA-1,
6 digits, 30-second steps), for trying authd's second factor from a shell.

    python3 scripts/totp.py SECRET           the current code
    python3 scripts/totp.py SECRET --next    waits for the next step's code

authd takes each code once, so a second step in the same 30 seconds needs
`--next`, as it would need the app's next code.
"""

import base64
import hashlib
import hmac
import struct
import sys
import time

STEP = 30


def code(secret: str, step: int) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def main() -> None:
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["--next"]):
        sys.exit(__doc__)
    step = int(time.time()) // STEP
    if sys.argv[2:] == ["--next"]:
        step += 1
        time.sleep(max(0.0, step * STEP - time.time()) + 0.5)
    print(code(sys.argv[1], step))


if __name__ == "__main__":
    main()
