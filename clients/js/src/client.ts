import type { RegisteredUser, TotpEnrolment, UserInfo } from "./account.js";
import { authedFetch, authedJson, type Authorized } from "./authedFetch.js";
import { ServerClock } from "./clock.js";
import { DpopSigner, MemoryKeyStore, indexedDbKeyStore, type DpopKeyStore } from "./dpop.js";
import type { AuthdEvents, Listener } from "./events.js";
import { AuthdError } from "./errors.js";
import { requestJson, type FetchLike, type HttpOptions } from "./http.js";
import { jwtClaims } from "./jwt.js";
import { TokenKeeper } from "./keeper.js";
import { passkeyAssertion, type CredentialsLike, type PasskeyCredentialJson, type PasskeyRequestOptionsJson } from "./passkey.js";
import { codeFrom, pkcePair, PendingRedirects, type IdTokenSignIn, type LinkedIdentity } from "./providers.js";
import { MemoryStorage, type TokenStorage } from "./storage.js";
import type { AccessTokenClaims, Session, SessionInfo } from "./tokens.js";

export interface AuthdClientOptions {
  /**
   * authd's origin with its scheme, e.g. `https://auth.example.com`; `""`
   * for the page's own origin. Anything else without `http://` or
   * `https://` throws a `TypeError` at construction.
   */
  baseUrl: string;
  /** Where tokens live (default: memory, gone with the process). */
  storage?: TokenStorage;
  /** Prefix of the storage keys and name of the BroadcastChannel (default `authd`). */
  storageKey?: string;
  /** The `fetch` to call (default: the platform's). */
  fetch?: FetchLike;
  /** Timeout of each request, ms (default 10 000). */
  timeoutMs?: number;
  /** Timeout of a refresh request, ms (default: a third of the grace window, at most `timeoutMs`). */
  refreshTimeoutMs?: number;
  /** The local clock, epoch ms (default `Date.now`). */
  now?: () => number;
  /** Refresh this long before the access token expires (default: a quarter of its lifetime, at most 60 s). */
  refreshMarginMs?: number;
  /** authd's `refresh_token_reuse_grace`, ms (default: read from its metadata; 10 s until then). */
  refreshReuseGraceMs?: number;
  /** Longest total wait on 429/503 `Retry-After` within one refresh, ms (default 60 000). */
  maxRetryWaitMs?: number;
  /** Tell other tabs about new tokens (default: on with a storage other than memory, where BroadcastChannel exists). */
  broadcast?: boolean;
  /** Refresh on a timer before expiry, and on `visibilitychange` in browsers (default true). */
  autoRefresh?: boolean;
  /**
   * DPoP (RFC 9449): bind the session to a non-extractable P-256 key of this
   * installation and prove it on every request. `true`: the key kept in
   * IndexedDB where there is one (browsers), else in memory; or the store
   * to keep it in. Off by default. Needs WebCrypto.
   */
  dpop?: boolean | DpopKeyStore;
}

/** The answer of the second step of a login: a TOTP code, a recovery code, or a passkey assertion. */
export type MfaAnswer = { code: string } | { recoveryCode: string } | { credential: PasskeyCredentialJson };

/**
 * authd's client: the account calls of an app (register, login with a
 * password, a second factor or a passkey, sessions, logout, the account
 * itself), over a token keeper (`TokenKeeper`: storage, rotation, tabs, the
 * timer) and `authedFetch` (the access token, DPoP proofs and their
 * retries). Its state is in `#private` fields: nothing of it is in the
 * published types.
 */
export class AuthdClient {
  /** Settles once the stored session has been read. */
  readonly ready: Promise<void>;

  readonly #http: HttpOptions;
  readonly #clock = new ServerClock();
  readonly #keeper: TokenKeeper;
  readonly #authorized: Authorized;
  readonly #redirects: PendingRedirects;
  readonly #timeoutMs: number;

  constructor(options: AuthdClientOptions) {
    checkBaseUrl(options.baseUrl);
    const now = options.now ?? (() => Date.now());
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const key = options.storageKey ?? "authd";
    const keys = options.dpop === true ? defaultKeyStore(key) : options.dpop || undefined;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    const clock = this.#clock;
    this.#http = {
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      fetch: fetchImpl,
      now,
      clock,
      // Proofs carry the server's time, so a device whose clock is off still gets them accepted.
      dpop: keys && new DpopSigner(keys, () => now() + clock.skew),
    };
    const storage = options.storage ?? new MemoryStorage();
    this.#redirects = new PendingRedirects(storage, `${key}.pkce`);
    this.#keeper = new TokenKeeper(this.#http, storage, {
      storageKey: key,
      timeoutMs: this.#timeoutMs,
      refreshTimeoutMs: options.refreshTimeoutMs,
      refreshMarginMs: options.refreshMarginMs,
      refreshReuseGraceMs: options.refreshReuseGraceMs,
      maxRetryWaitMs: options.maxRetryWaitMs,
      broadcast: options.broadcast,
      autoRefresh: options.autoRefresh !== false,
    });
    this.#authorized = { keeper: this.#keeper, http: this.#http, timeoutMs: this.#timeoutMs };
    this.ready = this.#keeper.ready;
  }

  /** Listens to `signedOut` or `tokens`; returns the unsubscribe function. */
  on<E extends keyof AuthdEvents>(event: E, listener: Listener<E>): () => void {
    return this.#keeper.events.on(event, listener);
  }

  /** Whether a session is held (as far as this client knows). */
  get signedIn(): boolean {
    return this.#keeper.held !== null;
  }

  /**
   * The current session, or null. `accessToken` may have expired:
   * `getAccessToken()` refreshes it. `tokenType` `DPoP`: the session is
   * bound to this installation's key, and its access token is accepted only
   * with a proof of that key (`authHeaders()`). `userId` and `claims` are
   * read from the access token's payload on the client: decoded, **not
   * verified** (no signature is checked here), for showing who is signed
   * in and how, not for deciding what a request may do.
   */
  get session(): Session | null {
    const t = this.#keeper.held;
    if (!t) return null;
    const claims = (jwtClaims(t.accessToken) ?? {}) as AccessTokenClaims;
    return {
      sessionId: t.sessionId,
      userId: typeof claims.sub === "string" ? claims.sub : "",
      accessToken: t.accessToken,
      accessTokenExpiresAt: t.accessTokenExpiresAt,
      tokenType: t.tokenType ?? "Bearer",
      claims,
    };
  }

  /** Server time minus local time, ms, as measured from `Date` headers. */
  get clockSkew(): number {
    return this.#clock.skew;
  }

  /** `POST /api/register`. Does not sign in; a verification link is mailed (`verifyEmail`). */
  async register(email: string, password: string): Promise<RegisteredUser> {
    return this.#open<RegisteredUser>("POST", "/api/register", { email, password });
  }

  /**
   * `POST /api/login`: stores the new session (replacing any) and tells
   * other tabs. A user with a second factor gets an `MfaRequiredError`
   * instead: answer it with `completeMfaLogin`.
   */
  login(email: string, password: string, device?: string): Promise<{ sessionId: string }> {
    return this.#signIn("/api/login", { email, password, device });
  }

  /**
   * `POST /api/login/mfa`: the second step of a login that threw
   * `MfaRequiredError`, with its `mfaToken` and a TOTP `code`, a
   * `recoveryCode`, or a passkey `credential` (`passkeyAssertion(e.publicKey)`).
   * Signs in as `login()` does. A wrong answer is `invalid_grant`; the token
   * takes 5 wrong answers, then a new `login()`.
   */
  completeMfaLogin(mfaToken: string, answer: MfaAnswer): Promise<{ sessionId: string }> {
    const a = answer as { code?: string; recoveryCode?: string; credential?: PasskeyCredentialJson };
    return this.#signIn("/api/login/mfa", { mfa_token: mfaToken, code: a.code, recovery_code: a.recoveryCode, credential: a.credential });
  }

  /**
   * A login with a passkey alone: `POST /api/login/passkey/start` (with
   * `email`, the options list that address's passkeys, or stand-ins for an
   * address without; without, the authenticator picks a discoverable one),
   * the authenticator's assertion (`navigator.credentials`, or
   * `credentials`), `POST /api/login/passkey/finish`. Signs in as `login()`
   * does.
   */
  async loginWithPasskey(options: { email?: string; device?: string; credentials?: CredentialsLike } = {}): Promise<{ sessionId: string }> {
    const start = await requestJson<{ challenge_id: string; publicKey: PasskeyRequestOptionsJson }>(this.#http, {
      method: "POST",
      path: "/api/login/passkey/start",
      body: options.email === undefined ? undefined : { email: options.email },
      timeoutMs: this.#timeoutMs,
    });
    const { challenge_id, publicKey } = start.body;
    const credential = await passkeyAssertion(publicKey, options.credentials);
    return this.#signIn("/api/login/passkey/finish", { challenge_id, credential, device: options.device });
  }

  /**
   * Sign-in with a provider's ID token (`POST /api/login/id-token`): the
   * token a platform's sheet gave (Sign in with Apple, Google's Credential
   * Manager) for the `hashedNonce` of `createNonce()`, and that `nonce`.
   * Signs in as `login()` does; a user with a second factor gets an
   * `MfaRequiredError`. A new identity whose address an account holds
   * unverified is `account_exists`; an unverified address `email_not_verified`.
   */
  signInWithIdToken(input: IdTokenSignIn & { device?: string }): Promise<{ sessionId: string }> {
    return this.#signIn("/api/login/id-token", {
      provider: input.provider,
      id_token: input.idToken,
      nonce: input.nonce,
      device: input.device,
    });
  }

  /**
   * The web flow: the URL of `GET /api/oauth/authorize` that sends the user
   * to `provider` and back to `redirectTo` (one of authd's
   * `AUTHD_OIDC_REDIRECT_URLS`). The PKCE verifier is kept in the client's
   * `storage` (use one that outlives a page load, e.g.
   * `localStorageStorage()`, in browsers). With `navigate` (the default
   * where there is a `location`), the page goes there at once.
   */
  async signInWithRedirect(input: { provider: string; redirectTo: string; navigate?: boolean }): Promise<string> {
    const { verifier, challenge } = await pkcePair();
    await this.#redirects.save({ verifier, provider: input.provider, redirectTo: input.redirectTo });
    const query = new URLSearchParams({
      provider: input.provider,
      redirect_to: input.redirectTo,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const url = `${this.#http.baseUrl}/api/oauth/authorize?${query}`;
    const location = (globalThis as { location?: { assign(url: string): void } }).location;
    if (input.navigate ?? location !== undefined) location?.assign(url);
    return url;
  }

  /**
   * Finishes the web flow on the page (or deep link) `redirectTo` opened
   * with: trades authd's `code` in `url` and the kept verifier at
   * `POST /api/token`. Signs in as `login()` does. An `error` in the URL
   * (the user declined: `access_denied`) is thrown as an `AuthdError`.
   */
  async exchangeCode(url: string | URL): Promise<{ sessionId: string }> {
    const pending = await this.#redirects.take();
    const code = codeFrom(url);
    if (!pending) {
      throw new AuthdError({ status: 0, code: "invalid_request", description: "no sign-in with a provider was started here" });
    }
    return this.#signIn("/api/token", { grant_type: "authorization_code", code, code_verifier: pending.verifier });
  }

  /** `GET /api/identities`: the providers the user signs in with. */
  async identities(): Promise<LinkedIdentity[]> {
    return (await authedJson<{ identities: LinkedIdentity[] }>(this.#authorized, { method: "GET", path: "/api/identities" })).identities;
  }

  /** `POST /api/identities`: links another provider's identity (a fresh ID token of it) to the user. */
  linkIdentity(input: IdTokenSignIn): Promise<LinkedIdentity> {
    return authedJson<LinkedIdentity>(this.#authorized, {
      method: "POST",
      path: "/api/identities",
      body: { provider: input.provider, id_token: input.idToken, nonce: input.nonce },
    });
  }

  /** `DELETE /api/identities/{id}`; `last_sign_in_method` when it is the user's last way in. */
  async unlinkIdentity(id: string): Promise<void> {
    await authedJson<unknown>(this.#authorized, { method: "DELETE", path: `/api/identities/${encodeURIComponent(id)}` });
  }

  /**
   * A valid access token, refreshed first if it is about to expire. For a
   * DPoP-bound session (`session.tokenType`) it is useless alone: use
   * `authHeaders()` or `fetch()`.
   */
  async getAccessToken(): Promise<string> {
    return (await this.#keeper.current()).accessToken;
  }

  /**
   * The headers that authorize one request to `url` with `method`:
   * `Authorization` (`Bearer`, or `DPoP` for a bound session) and, when
   * bound, a new `DPoP` proof (each is accepted once). For transports other
   * than `fetch()` (a WebSocket's first request, a third-party SDK).
   */
  async authHeaders(url: string | URL, method = "GET"): Promise<Record<string, string>> {
    const t = await this.#keeper.current();
    const signer = this.#keeper.signerFor(t);
    const headers: Record<string, string> = { authorization: `${signer ? "DPoP" : "Bearer"} ${t.accessToken}` };
    if (signer) headers["dpop"] = await signer.proof(method, this.#resolve(url), t.accessToken);
    return headers;
  }

  /** Rotates the refresh token now (joining a rotation already under way). */
  async refresh(): Promise<void> {
    await this.ready;
    await this.#keeper.rotate({ force: true });
  }

  /**
   * `fetch` with `Authorization: Bearer`, or for a DPoP-bound session
   * `Authorization: DPoP` and a new proof; on 401 `invalid_token` it
   * refreshes once and repeats the request, and on 401 `use_dpop_nonce` it
   * repeats it once with the server's nonce. A relative URL is resolved
   * against `baseUrl`. The body must be repeatable (not a stream).
   */
  fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    return authedFetch(this.#authorized, this.#resolve(input), init);
  }

  /** `GET /api/sessions`. */
  async sessions(): Promise<SessionInfo[]> {
    return (await authedJson<{ sessions: SessionInfo[] }>(this.#authorized, { method: "GET", path: "/api/sessions" })).sessions;
  }

  /** `GET /api/me`: the signed-in user's account. */
  me(): Promise<UserInfo> {
    return authedJson<UserInfo>(this.#authorized, { method: "GET", path: "/api/me" });
  }

  /**
   * `POST /api/email/verify` with the token of the mailed link (your page or
   * deep link reads it from `?token=`). Needs no session. The address is
   * verified at once; a session's access token says so from its next
   * refresh (`refresh()`). An unknown, used, replaced or expired token is
   * `invalid_grant`.
   */
  async verifyEmail(token: string): Promise<void> {
    await this.#open("POST", "/api/email/verify", { token });
  }

  /**
   * `POST /api/email/verify/resend`: mails a new verification link (the
   * older one stops working). Without `email`, to the signed-in user, with
   * the session's access token (`already_verified` when it is). With
   * `email`, by address and without a session (for a user whose login is
   * refused as `email_not_verified`): the same answer for every address,
   * and a link only to an account not verified yet. Throttled
   * (`rate_limited`).
   */
  async resendVerification(email?: string): Promise<void> {
    if (email === undefined) await authedJson<unknown>(this.#authorized, { method: "POST", path: "/api/email/verify/resend" });
    else await this.#open("POST", "/api/email/verify/resend", { email });
  }

  /**
   * `POST /api/password/forgot`: mails a reset link to `email` if it has an
   * account. Needs no session; the same answer for every address.
   * Throttled (`rate_limited`).
   */
  async forgotPassword(email: string): Promise<void> {
    await this.#open("POST", "/api/password/forgot", { email });
  }

  /**
   * `POST /api/password/reset` with the token of the mailed link: sets the
   * password and verifies the address. Needs no session. Every session of
   * that user ends (one held here is signed out at its next refresh, as
   * `invalid`); a user with a second factor still needs it at the next
   * login. An unknown, used, replaced or expired token is `invalid_grant`.
   */
  async resetPassword(token: string, newPassword: string): Promise<void> {
    await this.#open("POST", "/api/password/reset", { token, new_password: newPassword });
  }

  /**
   * `POST /api/password`: changes the signed-in user's password, proven by
   * the current one (or, for an account without one, a fresh ID token of a
   * linked identity). This session stays; every other one of the user ends.
   * A wrong password is `invalid_grant`; a user with a second factor needs a
   * session that used it (`insufficient_user_authentication`).
   */
  async changePassword(current: string | IdTokenSignIn, newPassword: string): Promise<void> {
    await authedJson<unknown>(this.#authorized, {
      method: "POST",
      path: "/api/password",
      body: { ...proofBody(current, "current_password"), new_password: newPassword },
    });
  }

  /**
   * `DELETE /api/account`: deletes the signed-in user's account, proven by
   * the password (or a fresh ID token of a linked identity). Every session
   * ends; this client signs out (`signedOut`, reason `logout`). A wrong
   * password is `invalid_grant` and changes nothing; a user with a second
   * factor needs a session that used it (`insufficient_user_authentication`).
   */
  async deleteAccount(proof: string | IdTokenSignIn): Promise<void> {
    const sessionId = this.#keeper.held?.sessionId;
    await authedJson<unknown>(this.#authorized, { method: "DELETE", path: "/api/account", body: proofBody(proof, "password") });
    if (sessionId) await this.#keeper.signOut("logout", sessionId);
  }

  /**
   * `POST /api/mfa/totp`: starts a TOTP enrolment (a second one meanwhile
   * replaces it). Show `otpauth_uri` as a QR code (or `secret`), then
   * `confirmTotp` with a code from the app. `already_enrolled` when TOTP is on.
   */
  enrolTotp(): Promise<TotpEnrolment> {
    return authedJson<TotpEnrolment>(this.#authorized, { method: "POST", path: "/api/mfa/totp" });
  }

  /**
   * `POST /api/mfa/totp/confirm` with a current code: TOTP is on, and the
   * answer is the ten recovery codes, shown this once. Every other session
   * of the user ends; this one stays. A wrong code is `invalid_grant`.
   */
  async confirmTotp(code: string): Promise<string[]> {
    const res = await authedJson<{ recovery_codes: string[] }>(this.#authorized, { method: "POST", path: "/api/mfa/totp/confirm", body: { code } });
    return res.recovery_codes;
  }

  /** `DELETE /api/mfa/totp` with a current code or a recovery code: TOTP is off, the recovery codes are gone. */
  async disableTotp(answer: { code: string } | { recoveryCode: string }): Promise<void> {
    const a = answer as { code?: string; recoveryCode?: string };
    await authedJson<unknown>(this.#authorized, { method: "DELETE", path: "/api/mfa/totp", body: { code: a.code, recovery_code: a.recoveryCode } });
  }

  /** `POST /api/logout`: ends this session; the local one ends even if the server cannot be reached. */
  async logout(): Promise<void> {
    await this.ready;
    const t = (await this.#keeper.stored()) ?? this.#keeper.held;
    if (!t) return;
    try {
      await requestJson(this.#http, {
        method: "POST",
        path: "/api/logout",
        body: { refresh_token: t.refreshToken },
        proof: true, // a bound session ends only with a proof of its key
        timeoutMs: this.#timeoutMs,
      });
    } finally {
      await this.#keeper.signOut("logout", t.sessionId);
    }
  }

  /** `POST /api/logout-all`: ends every session of the user, this one too. */
  async logoutAll(): Promise<void> {
    const sessionId = this.#keeper.held?.sessionId;
    await authedJson<unknown>(this.#authorized, { method: "POST", path: "/api/logout-all" });
    if (sessionId) await this.#keeper.signOut("logout", sessionId);
  }

  /**
   * Call when the app comes back from the background: picks up what another
   * process stored meanwhile, finishes a refresh whose answer was lost, and
   * refreshes an access token that expired while suspended. Browsers call it
   * on `visibilitychange` by themselves.
   */
  resume(): Promise<void> {
    return this.#keeper.resume();
  }

  /** Stops timers and listeners. The stored session stays. */
  close(): void {
    this.#keeper.close();
  }

  /**
   * A route that answers a new session (`undefined` members of `body` are
   * left out): with a DPoP proof, so the session is bound to the key; stores
   * it, replacing any, and tells other tabs.
   */
  async #signIn(path: string, body: Record<string, unknown>): Promise<{ sessionId: string }> {
    await this.ready;
    const res = await requestJson<unknown>(this.#http, { method: "POST", path, body, proof: true, timeoutMs: this.#timeoutMs });
    const tokens = await this.#keeper.install(res);
    return { sessionId: tokens.sessionId };
  }

  /** A route of authd that takes no access token. */
  async #open<T>(method: "POST", path: string, body: unknown): Promise<T> {
    return (await requestJson<T>(this.#http, { method, path, body, timeoutMs: this.#timeoutMs })).body;
  }

  #resolve(input: string | URL): string {
    return typeof input === "string" && input.startsWith("/") ? this.#http.baseUrl + input : String(input);
  }
}

/** The proof of a password change or deletion in authd's names: the password under `field`, or the ID token. */
function proofBody(proof: string | IdTokenSignIn, field: string): Record<string, string> {
  return typeof proof === "string" ? { [field]: proof } : { provider: proof.provider, id_token: proof.idToken, nonce: proof.nonce };
}

/** `baseUrl` is `""` or starts with a scheme; anything else fails now, with what to write instead. */
function checkBaseUrl(baseUrl: string): void {
  if (baseUrl === "" || /^https?:\/\/[^/]/i.test(baseUrl)) return;
  const host = baseUrl.includes("://")
    ? baseUrl.slice(baseUrl.indexOf("://") + 3)
    : /^\/(?!\/)/.test(baseUrl)
      ? `auth.example.com${baseUrl}` // a path: authd's origin goes before it
      : baseUrl.replace(/^\/+/, "");
  throw new TypeError(
    `AuthdClient: baseUrl ${JSON.stringify(baseUrl)} has no http:// or https:// scheme: give authd's origin with its scheme, ` +
      `e.g. "https://${host || "auth.example.com"}", or "" for the page's own origin`,
  );
}

/** IndexedDB where there is one, so the key outlives a reload; else memory. */
function defaultKeyStore(name: string): DpopKeyStore {
  return (globalThis as { indexedDB?: unknown }).indexedDB ? indexedDbKeyStore(name) : new MemoryKeyStore();
}

/** A client: see AuthdClientOptions. */
export function createAuthdClient(options: AuthdClientOptions): AuthdClient {
  return new AuthdClient(options);
}
