// Passkeys: the options conversion and the assertion's JSON checked byte by
// byte with a fake navigator.credentials.get; then, against the real authd
// with a software authenticator (test/helpers/mfa.mjs, node:crypto only),
// a passkey login with loginWithPasskey and a passkey as the second step of
// a password login.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthdClient, AuthdError, MemoryKeyStore, MemoryStorage, MfaRequiredError, passkeyAssertion } from "../dist/index.js";
import { decodeJwt, storedThumbprint, verifyProof } from "./helpers/dpop.mjs";
import { SoftPasskey, registerPasskey } from "./helpers/mfa.mjs";
import { secureStatus, signedIn, storedTokens, worldBehindProxy } from "./helpers/session.mjs";
import { PASSWORD } from "./helpers/world.mjs";

const w = worldBehindProxy({});
const requestsTo = (path) => w.proxy.state.requests.filter((r) => r.path === path);

/** Bytes whose standard base64 has `+`, `/` and padding: base64url must have `-`, `_` and none. */
const bytes = (n, seed) => Buffer.from(Array.from({ length: n }, (_, i) => (i % 2 ? 0xfb : 0xff) ^ ((seed + i) & 0x0f)));
const ab = (buf) => new Uint8Array(buf).buffer;

test("passkeyAssertion: base64url options become ArrayBuffers for credentials.get, the credential becomes base64url JSON without padding", async () => {
  const challenge = bytes(32, 1);
  const credId = bytes(16, 2);
  const authenticatorData = bytes(37, 3);
  const clientDataJSON = Buffer.from('{"type":"webauthn.get","challenge":"x"}');
  const signature = bytes(71, 4);
  const userHandle = bytes(16, 5);
  for (const b of [challenge, credId, authenticatorData, signature]) assert.match(b.toString("base64"), /[+/]|=$/);

  const options = {
    challenge: challenge.toString("base64url"),
    allowCredentials: [{ type: "public-key", id: credId.toString("base64url"), transports: ["internal", "hybrid"] }],
    rpId: "localhost",
    timeout: 300000,
    userVerification: "required",
    extensions: { uvm: true },
  };
  const calls = [];
  const credentials = {
    async get(arg) {
      calls.push(arg);
      return {
        id: credId.toString("base64url"),
        rawId: ab(credId),
        type: "public-key",
        authenticatorAttachment: "cross-platform",
        // A typed array for one field: any BufferSource is read by its view.
        response: { authenticatorData: ab(authenticatorData), clientDataJSON: new Uint8Array(clientDataJSON), signature: ab(signature), userHandle: ab(userHandle) },
        getClientExtensionResults() {
          assert.equal(this, returned, "called as a method");
          return { uvm: [[2, 2, 2]] };
        },
      };
    },
  };
  let returned;
  const get = credentials.get;
  credentials.get = async (arg) => (returned = await get(arg));

  const json = await passkeyAssertion(options, credentials);

  // What the authenticator was asked.
  assert.equal(calls.length, 1);
  assert.deepEqual(Object.keys(calls[0]), ["publicKey"]);
  const pk = calls[0].publicKey;
  assert.ok(pk.challenge instanceof ArrayBuffer, "challenge is an ArrayBuffer");
  assert.deepEqual(Buffer.from(pk.challenge), challenge);
  assert.equal(pk.allowCredentials.length, 1);
  assert.ok(pk.allowCredentials[0].id instanceof ArrayBuffer, "the credential id is an ArrayBuffer");
  assert.deepEqual(Buffer.from(pk.allowCredentials[0].id), credId);
  assert.deepEqual([pk.allowCredentials[0].type, pk.allowCredentials[0].transports], ["public-key", ["internal", "hybrid"]]);
  assert.deepEqual([pk.rpId, pk.timeout, pk.userVerification, pk.extensions], ["localhost", 300000, "required", { uvm: true }]);
  assert.equal(options.challenge, challenge.toString("base64url"), "the caller's options are not changed");

  // What authd gets.
  assert.deepEqual(json, {
    id: credId.toString("base64url"),
    rawId: credId.toString("base64url"),
    type: "public-key",
    response: {
      authenticatorData: authenticatorData.toString("base64url"),
      clientDataJSON: clientDataJSON.toString("base64url"),
      signature: signature.toString("base64url"),
      userHandle: userHandle.toString("base64url"),
    },
    clientExtensionResults: { uvm: [[2, 2, 2]] },
    authenticatorAttachment: "cross-platform",
  });
  const text = JSON.stringify(json);
  assert.doesNotMatch(text, /[=+/]/, "base64url, no padding");

  // A discoverable request (no allowCredentials), no user handle, no extension results: null and {}.
  const bare = await passkeyAssertion({ challenge: "AAEC" }, {
    get: async ({ publicKey }) => {
      assert.deepEqual([...new Uint8Array(publicKey.challenge)], [0, 1, 2]);
      assert.equal(publicKey.allowCredentials, undefined);
      return { id: "AQ", rawId: ab(Buffer.from([1])), type: "public-key", response: { authenticatorData: ab(Buffer.from([9, 9])), clientDataJSON: ab(Buffer.from("{}")), signature: ab(Buffer.from([7])), userHandle: null } };
    },
  });
  assert.deepEqual(bare, {
    id: "AQ",
    rawId: "AQ",
    type: "public-key",
    response: { authenticatorData: "CQk", clientDataJSON: "e30", signature: "Bw", userHandle: null },
    clientExtensionResults: {},
  });

  // No passkey chosen (null), the user cancelling, and no WebAuthn at all.
  await assert.rejects(passkeyAssertion(options, { get: async () => null }), { name: "NotAllowedError" });
  const cancelled = Object.assign(new Error("The operation either timed out or was not allowed."), { name: "NotAllowedError" });
  await assert.rejects(passkeyAssertion(options, { get: async () => Promise.reject(cancelled) }), (e) => e === cancelled);
  await assert.rejects(passkeyAssertion(options), /WebAuthn is not available/);
});

test("loginWithPasskey: discoverable and by email, against authd with a software authenticator; tokens as login's", async () => {
  const passkey = new SoftPasskey();
  const { client: setup, email } = await signedIn(w.world.url, w.proxy.url);
  const registered = await registerPasskey(setup, passkey);
  assert.equal(typeof registered.id, "string");
  setup.close();

  // Discoverable: no email, the authenticator names its user.
  const storage = new MemoryStorage();
  const client = new AuthdClient({ baseUrl: w.proxy.url, storage, autoRefresh: false });
  const events = [];
  client.on("tokens", (e) => events.push(e.sessionId));
  const { sessionId } = await client.loginWithPasskey({ credentials: passkey, device: "phone" });
  assert.deepEqual(passkey.calls.at(-1).allowCredentials, []);
  assert.equal(client.session.sessionId, sessionId);
  assert.equal(storedTokens(storage).sessionId, sessionId);
  assert.deepEqual(events, [sessionId]);
  const { claims } = decodeJwt(client.session.accessToken);
  assert.deepEqual([claims.amr, claims.acr], [["hwk", "mfa"], "aal2"]);
  assert.equal(await secureStatus(client), 200);
  assert.deepEqual((await client.sessions()).find((s) => s.current)?.device, "phone");

  // By email: the options list the user's passkey; the session replaces the one held.
  const again = await client.loginWithPasskey({ email, credentials: passkey });
  const allowed = passkey.calls.at(-1).allowCredentials;
  assert.deepEqual(allowed.map((c) => Buffer.from(c.id)), [passkey.credentialId]);
  assert.notEqual(again.sessionId, sessionId);
  assert.equal(client.session.sessionId, again.sessionId);
  assert.equal(await secureStatus(client), 200);

  // An assertion authd refuses (a replayed one: same counter) is invalid_grant, and the session held stays.
  const replaying = { get: async (arg) => (passkey.counter--, passkey.get(arg)) };
  await assert.rejects(client.loginWithPasskey({ email, credentials: replaying }), (e) => e instanceof AuthdError && e.code === "invalid_grant");
  assert.equal(client.session.sessionId, again.sessionId);
  client.close();
});

test("an unknown passkey is refused with invalid_grant and the client stays signed out", async () => {
  const stranger = new SoftPasskey();
  stranger.userHandle = Buffer.alloc(16, 1);
  const client = new AuthdClient({ baseUrl: w.proxy.url, autoRefresh: false });
  await assert.rejects(client.loginWithPasskey({ credentials: stranger }), (e) => e instanceof AuthdError && e.code === "invalid_grant");
  assert.equal(client.signedIn, false);
  client.close();
});

test("a passkey as the second step: MfaRequiredError with webauthn and publicKey, completeMfaLogin with passkeyAssertion(e.publicKey), DPoP-bound", async () => {
  const passkey = new SoftPasskey();
  const { client: setup, email } = await signedIn(w.world.url, w.proxy.url);
  await registerPasskey(setup, passkey);
  await setup.logout();
  setup.close();

  const keys = new MemoryKeyStore();
  const client = new AuthdClient({ baseUrl: w.proxy.url, autoRefresh: false, dpop: keys });
  let e;
  await assert.rejects(client.login(email, PASSWORD), (x) => ((e = x), x instanceof MfaRequiredError));
  assert.deepEqual(e.factors, ["webauthn"]);
  assert.equal(typeof e.publicKey.challenge, "string", "the options as authd sent them");
  assert.deepEqual(e.publicKey.allowCredentials.map((c) => c.id), [passkey.credentialId.toString("base64url")]);

  w.proxy.resetCounts();
  await client.completeMfaLogin(e.mfaToken, { credential: await passkeyAssertion(e.publicKey, passkey) });
  assert.deepEqual(Buffer.from(passkey.calls.at(-1).challenge).toString("base64url"), e.publicKey.challenge);
  const { claims } = decodeJwt(client.session.accessToken);
  assert.deepEqual([claims.amr, claims.acr], [["pwd", "hwk", "mfa"], "aal2"]);
  assert.equal(client.session.tokenType, "DPoP");
  assert.equal(claims.cnf.jkt, await storedThumbprint(keys));
  assert.equal(verifyProof(requestsTo("/api/login/mfa")[0].proof).claims.htu, `${w.proxy.url}/api/login/mfa`);
  assert.equal(await secureStatus(client), 200);
  client.close();
});

test("loginWithPasskey with dpop: true proves the key at finish only, and the session is bound", async () => {
  const passkey = new SoftPasskey();
  const { client: setup } = await signedIn(w.world.url, w.proxy.url);
  await registerPasskey(setup, passkey);
  setup.close();
  const keys = new MemoryKeyStore();
  const client = new AuthdClient({ baseUrl: w.proxy.url, autoRefresh: false, dpop: keys });
  w.proxy.resetCounts();
  await client.loginWithPasskey({ credentials: passkey });
  assert.equal(requestsTo("/api/login/passkey/start")[0].proof, null, "start makes no session: no proof");
  const finish = verifyProof(requestsTo("/api/login/passkey/finish")[0].proof);
  assert.deepEqual([finish.claims.htm, finish.claims.htu], ["POST", `${w.proxy.url}/api/login/passkey/finish`]);
  assert.equal(client.session.tokenType, "DPoP");
  assert.equal(decodeJwt(client.session.accessToken).claims.cnf.jkt, await storedThumbprint(keys));
  assert.equal(await secureStatus(client), 200);
  client.close();
});
