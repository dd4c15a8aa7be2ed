/**
 * Passkeys (WebAuthn) on the client side: authd's request options (JSON,
 * binary fields in base64url) to what `navigator.credentials.get` takes,
 * and the assertion it returns back to JSON for authd.
 */
import { toBase64url, fromBase64url } from "./base64url.js";

/** `PublicKeyCredentialRequestOptions` as authd sends them: binary fields in base64url. */
export interface PasskeyRequestOptionsJson {
  challenge: string;
  allowCredentials?: { type: string; id: string; transports?: string[] }[];
  [member: string]: unknown;
}

/** An assertion (`PublicKeyCredential`) as JSON, binary fields in base64url without padding. */
export interface PasskeyCredentialJson {
  id: string;
  rawId: string;
  type: string;
  response: { authenticatorData: string; clientDataJSON: string; signature: string; userHandle: string | null };
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment?: string;
}

/** Bytes as WebAuthn gives them; an adapter (React Native) may give base64url text already. */
type Binary = ArrayBuffer | ArrayBufferView | string;

/** What `credentials.get` resolves to: a `PublicKeyCredential`, or a look-alike of an adapter. */
export interface PasskeyAssertionLike {
  id: string;
  rawId: Binary;
  type: string;
  response: { authenticatorData: Binary; clientDataJSON: Binary; signature: Binary; userHandle?: Binary | null };
  getClientExtensionResults?(): unknown;
  authenticatorAttachment?: string | null;
}

/**
 * `navigator.credentials`, or anything with its `get`: a test's fake, a
 * React Native passkey module behind a small adapter.
 */
export interface CredentialsLike {
  get(options: CredentialRequestOptions): Promise<PasskeyAssertionLike | Credential | null>;
}

/** authd's options as `PublicKeyCredentialRequestOptions`: the challenge and credential ids as ArrayBuffers. */
export function passkeyRequestOptions(json: PasskeyRequestOptionsJson): PublicKeyCredentialRequestOptions {
  const { challenge, allowCredentials, ...rest } = json;
  const options = { ...rest, challenge: fromBase64url(challenge) } as PublicKeyCredentialRequestOptions;
  if (allowCredentials) {
    options.allowCredentials = allowCredentials.map((c) => ({ ...c, id: fromBase64url(c.id) }) as PublicKeyCredentialDescriptor);
  }
  return options;
}

const text = (v: Binary): string => (typeof v === "string" ? v : toBase64url(v));

/** An assertion as JSON for authd (`credential` of `/api/login/mfa` and `/api/login/passkey/finish`). */
export function passkeyCredentialJson(c: PasskeyAssertionLike): PasskeyCredentialJson {
  const r = c.response;
  const json: PasskeyCredentialJson = {
    id: c.id,
    rawId: text(c.rawId),
    type: c.type,
    response: {
      authenticatorData: text(r.authenticatorData),
      clientDataJSON: text(r.clientDataJSON),
      signature: text(r.signature),
      userHandle: r.userHandle ? text(r.userHandle) : null,
    },
    clientExtensionResults: (c.getClientExtensionResults?.() ?? {}) as Record<string, unknown>,
  };
  if (c.authenticatorAttachment) json.authenticatorAttachment = c.authenticatorAttachment;
  return json;
}

/**
 * Asks the authenticator to sign authd's challenge (`publicKey`: from
 * `/api/login/passkey/start`, or `MfaRequiredError.publicKey`) and returns
 * the assertion as JSON for authd. `credentials`: `navigator.credentials`
 * unless given. The user cancelling rejects with the platform's
 * `NotAllowedError`.
 */
export async function passkeyAssertion(publicKey: PasskeyRequestOptionsJson, credentials?: CredentialsLike): Promise<PasskeyCredentialJson> {
  const creds = credentials ?? (globalThis as { navigator?: { credentials?: CredentialsLike } }).navigator?.credentials;
  if (!creds) throw new Error("WebAuthn is not available here: pass `credentials`");
  const c = (await creds.get({ publicKey: passkeyRequestOptions(publicKey) })) as PasskeyAssertionLike | null;
  if (!c) {
    const e = new Error("no passkey was chosen");
    e.name = "NotAllowedError";
    throw e;
  }
  return passkeyCredentialJson(c);
}
