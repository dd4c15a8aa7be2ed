# A real SMTP server for authd's tests (aiosmtpd): every message it accepts
# is written whole to DIR as its own .eml file. Prints "ready" once listening.
# Usage: python smtp_catcher.py PORT DIR [starttls|implicit CERT KEY]
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.folder, "%d-%d.eml" % (time.time_ns(), self.count))
        with open(path + ".part", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".part", path)
        return "250 OK"


port, folder = int(sys.argv[1]), sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "plain"
if mode == "plain":
    controller = Controller(Keep(folder), hostname="127.0.0.1", port=port)
else:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[4], sys.argv[5])
    if mode == "starttls":
        controller = Controller(
            Keep(folder), hostname="127.0.0.1", port=port,
            tls_context=context, require_starttls=True,
        )
    else:
        controller = Controller(
            Keep(folder), hostname="127.0.0.1", port=port, ssl_context=context,
        )
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
