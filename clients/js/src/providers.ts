import { toBase64url as base64url } from "./base64url.js";
import { AuthdError } from "./errors.js";
import type { TokenStorage } from "./storage.js";

/** A linked identity at a provider (`GET /api/identities`). */
export interface LinkedIdentity {
  id: string;
  /** The provider's name (`apple`, `google`, …). */
  provider: string;
  /** The user's `sub` at the provider. */
  subject: string;
  /** The address the provider gave when it was linked, if any. */
  email: string | null;
  created_at: string;
}

/** An ID token from a platform's sign-in sheet, and the nonce the app kept. */
export interface IdTokenSignIn {
  /** A provider of authd's `AUTHD_OIDC_PROVIDERS`. */
  provider: string;
  /** The ID token the sheet gave. */
  idToken: string;
  /** The nonce of `createNonce()`: the token carries its `hashedNonce`. */
  nonce: string;
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error("WebCrypto is not available here");
  return s;
}

function randomString(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return base64url(bytes);
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * A nonce for a platform's sign-in sheet: give the sheet `hashedNonce`
 * (Sign in with Apple's `request.nonce`, Google's `setNonce`), keep `nonce`
 * and send it with the ID token to `signInWithIdToken`. Each signs in once.
 */
export async function createNonce(): Promise<{ nonce: string; hashedNonce: string }> {
  const nonce = randomString();
  const hashedNonce = Array.from(await sha256(nonce), (b) => b.toString(16).padStart(2, "0")).join("");
  return { nonce, hashedNonce };
}

/** What the redirect flow keeps between leaving for the provider and coming back. */
interface PendingRedirect {
  verifier: string;
  provider: string;
  redirectTo: string;
}

/** A PKCE verifier (RFC 7636: 43 characters here) and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = randomString();
  return { verifier, challenge: base64url(await sha256(verifier)) };
}

/** Keeps the redirect flow's verifier in the client's storage. */
export class PendingRedirects {
  constructor(
    private readonly storage: TokenStorage,
    private readonly key: string,
  ) {}

  async save(pending: PendingRedirect): Promise<void> {
    await this.storage.setItem(this.key, JSON.stringify(pending));
  }

  /** The pending flow, once (it is removed). */
  async take(): Promise<PendingRedirect | null> {
    const text = await this.storage.getItem(this.key);
    await this.storage.removeItem(this.key);
    if (!text) return null;
    try {
      return JSON.parse(text) as PendingRedirect;
    } catch {
      return null;
    }
  }
}

/**
 * authd's `code` from the URL the web flow came back to, or the `error` it
 * carries as an `AuthdError` (`access_denied`, `account_exists`, …).
 */
export function codeFrom(url: string | URL): string {
  const query = new URL(String(url)).searchParams;
  const error = query.get("error");
  if (error) {
    throw new AuthdError({ status: 0, code: error, description: `the provider sign-in ended with ${error}` });
  }
  const code = query.get("code");
  if (!code) throw new AuthdError({ status: 0, code: "invalid_request", description: "the URL carries no code" });
  return code;
}
