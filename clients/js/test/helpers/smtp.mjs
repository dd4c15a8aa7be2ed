// A real SMTP server for the tests, in Node with `net` only: authd's sender
// (AUTHD_SMTP_URL=smtp://127.0.0.1:PORT) speaks plain SMTP to it over TCP,
// and it keeps every message it accepts, so a test can read the token of a
// mailed link (verification, password reset) as the user's app would.
import net from "node:net";

/**
 * One received message: `to` (the RCPT TO addresses), `raw` (the message as
 * sent), `text` (quoted-printable soft breaks and `=3D` undone, so a link
 * reads as it was written).
 */
function received(to, raw) {
  const text = raw.replace(/=\r?\n/g, "").replace(/=3D/gi, "=");
  return { to, raw, text };
}

/**
 * Starts the catcher on a free port of 127.0.0.1. `url` is the
 * AUTHD_SMTP_URL for authd; `messages` every message so far, oldest first;
 * `waitFor(address, match, { since })` the first message to `address`
 * whose text matches `match` (a RegExp), among those received from index
 * `since` of `messages` on (take `messages.length` before the request that
 * mails), waiting for it; `stop()` closes it.
 */
export async function startSmtpCatcher() {
  const messages = [];
  const waiters = new Set();
  const sockets = new Set();

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.setEncoding("utf8");
    const reply = (line) => socket.write(`${line}\r\n`);
    let buffer = "";
    let rcpt = [];
    let data = null; // the message being received, after DATA
    reply("220 127.0.0.1 ESMTP test catcher");
    socket.on("data", (chunk) => {
      buffer += chunk;
      for (;;) {
        if (data !== null) {
          // The body ends with CRLF.CRLF (the CRLF before the dot may be the one ending DATA's 354 reply).
          const all = data + buffer;
          const end = all.indexOf("\r\n.\r\n");
          if (end < 0) {
            data = all;
            buffer = "";
            return;
          }
          const raw = all.slice(2, end).replace(/^\.\./gm, ".");
          buffer = all.slice(end + 5);
          data = null;
          const message = received(rcpt, raw);
          messages.push(message);
          rcpt = [];
          reply("250 2.0.0 OK");
          for (const w of waiters) w();
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          socket.write("250-127.0.0.1\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
        } else if (verb === "HELO") {
          reply("250 127.0.0.1");
        } else if (verb === "MAIL") {
          rcpt = [];
          reply("250 2.1.0 OK");
        } else if (verb === "RCPT") {
          rcpt.push((/<([^>]*)>/.exec(line)?.[1] ?? "").toLowerCase());
          reply("250 2.1.5 OK");
        } else if (verb === "DATA") {
          data = "\r\n";
          reply("354 end data with <CR><LF>.<CR><LF>");
        } else if (verb === "QUIT") {
          reply("221 2.0.0 bye");
          socket.end();
          return;
        } else {
          reply("250 OK"); // RSET, NOOP
        }
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();

  const find = (address, match, since) =>
    messages.slice(since).find((m) => m.to.includes(address.toLowerCase()) && match.test(m.text));

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    waitFor(address, match, { since = 0, timeoutMs = 20_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = find(address, match, since);
          if (!m) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no mail to ${address} matching ${match} within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The token of a link `prefix?token=…` in a message's text (e.g. prefix "myapp://verify"). */
export function linkToken(message, prefix) {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  const m = new RegExp(`${escaped}\\?token=([A-Za-z0-9_-]+)`).exec(message.text);
  if (!m) throw new Error(`no ${prefix}?token= link in:\n${message.text}`);
  return m[1];
}
