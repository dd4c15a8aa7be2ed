// For bench/run.sh: an OpenID provider on 127.0.0.1:PORT (the client's test
// provider, clients/js/test/helpers/provider.mjs) and COUNT sign-in bodies
// for POST /api/login/id-token, one per line of OUT, each with an RS256 ID
// token (as Apple's and Google's are) for one user and a nonce of its own
// (each is accepted once). Writes OUT.ready when done, then serves the
// provider's discovery and keys until killed.
//   node bench/id_tokens.mjs PORT COUNT OUT
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { startProvider } from "../clients/js/test/helpers/provider.mjs";

const [port, count, out] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const provider = await startProvider(port);
const lines = [];
for (let start = 0; start < count; start += 256) {
  const batch = Array.from({ length: Math.min(256, count - start) }, async () => {
    const nonce = randomBytes(24).toString("base64url");
    const hash = createHash("sha256").update(nonce).digest("hex");
    const idToken = await provider.idTokenAsync("bench-app", hash, { sub: "bench-user", email: "bench-fed@example.com", email_verified: true });
    return JSON.stringify({ provider: "bench", id_token: idToken, nonce });
  });
  lines.push(...(await Promise.all(batch)));
}
writeFileSync(out, lines.join("\n") + "\n");
writeFileSync(`${out}.ready`, "");
