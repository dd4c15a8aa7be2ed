# A real SMTP server for authd's tests (aiosmtpd): every message it accepts
# is written whole to DIR as its own .eml file. Prints "ready" once listening.
# Usage: python smtp_catcher.py PORT DIR
import os
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
controller = Controller(Keep(folder), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
