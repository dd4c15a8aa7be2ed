import { TokenBroadcast, type TokenMessage } from "./broadcast.js";
import { ServerClock } from "./clock.js";
import { DpopSigner, MemoryKeyStore, indexedDbKeyStore, type DpopKeyStore } from "./dpop.js";
import { AuthdError, signedOutError } from "./errors.js";
import { Emitter, type AuthdEvents, type Listener, type SignedOutReason } from "./events.js";
import { Deadline, requestJson, type FetchLike, type HttpOptions, type JsonRequest } from "./http.js";
import { passkeyAssertion, type CredentialsLike, type PasskeyCredentialJson, type PasskeyRequestOptionsJson } from "./passkey.js";
import { SingleFlight } from "./singleFlight.js";
import { MemoryStorage, TokenStore, type InflightRefresh, type StoredTokens, type TokenStorage } from "./storage.js";
import { toStoredTokens, type SessionInfo } from "./tokens.js";

export interface AuthdClientOptions {
  /** authd's origin, e.g. `https://auth.example.com`; `""` for the page's own origin. */
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

interface RotateMode {
  /** Rotate even if the access token looks fresh. */
  force?: boolean;
  /** The access token a resource server refused: rotate unless it was replaced already. */
  failed?: string;
}

const DEFAULT_GRACE_MS = 10_000;

export class AuthdClient {
  /** Settles once the stored session has been read. */
  readonly ready: Promise<void>;

  private tokens: StoredTokens | null = null;
  private readonly store: TokenStore;
  private readonly http: HttpOptions;
  private readonly clock = new ServerClock();
  private readonly flight = new SingleFlight<StoredTokens>();
  private readonly events = new Emitter();
  private readonly broadcast: TokenBroadcast | null;
  private readonly now: () => number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private graceMs: number | undefined;
  private metadata: Promise<void> | null = null;
  private closed = false;
  private readonly onVisible = (): void => {
    if ((globalThis as { document?: Document }).document?.visibilityState === "visible") void this.resume().catch(noop);
  };

  constructor(private readonly options: AuthdClientOptions) {
    this.now = options.now ?? (() => Date.now());
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    const key = options.storageKey ?? "authd";
    const keys = options.dpop === true ? defaultKeyStore(key) : options.dpop || undefined;
    this.http = {
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      fetch: fetchImpl,
      now: this.now,
      clock: this.clock,
      // Proofs carry the server's time, so a device whose clock is off still gets them accepted.
      dpop: keys && new DpopSigner(keys, () => this.now() + this.clock.skew),
    };
    const storage = options.storage ?? new MemoryStorage();
    this.store = new TokenStore(storage, key);
    this.graceMs = options.refreshReuseGraceMs;
    const share = options.broadcast ?? !(storage instanceof MemoryStorage);
    this.broadcast = share ? new TokenBroadcast(`authd:${key}`, (m) => this.onMessage(m)) : null;
    const doc = (globalThis as { document?: Document }).document;
    if (options.autoRefresh !== false) doc?.addEventListener?.("visibilitychange", this.onVisible);
    this.ready = this.start();
  }

  /** Listens to `signedOut` or `tokens`; returns the unsubscribe function. */
  on<E extends keyof AuthdEvents>(event: E, listener: Listener<E>): () => void {
    return this.events.on(event, listener);
  }

  /** Whether a session is held (as far as this client knows). */
  get signedIn(): boolean {
    return this.tokens !== null;
  }

  /**
   * The current session, or null. `accessToken` may have expired:
   * `getAccessToken()` refreshes it. `tokenType` `DPoP`: the session is
   * bound to this installation's key, and its access token is accepted only
   * with a proof of that key (`authHeaders()`).
   */
  get session(): { sessionId: string; accessToken: string; accessTokenExpiresAt: number; tokenType: "Bearer" | "DPoP" } | null {
    const t = this.tokens;
    return (
      t && {
        sessionId: t.sessionId,
        accessToken: t.accessToken,
        accessTokenExpiresAt: t.accessTokenExpiresAt,
        tokenType: t.tokenType ?? "Bearer",
      }
    );
  }

  /** Server time minus local time, ms, as measured from `Date` headers. */
  get clockSkew(): number {
    return this.clock.skew;
  }

  /** `POST /api/register`. Does not sign in. */
  async register(email: string, password: string): Promise<{ id: string; email: string; created_at: string }> {
    const res = await requestJson<{ id: string; email: string; created_at: string }>(this.http, {
      method: "POST",
      path: "/api/register",
      body: { email, password },
      timeoutMs: this.timeoutMs,
    });
    return res.body;
  }

  /**
   * `POST /api/login`: stores the new session (replacing any) and tells
   * other tabs. A user with a second factor gets an `MfaRequiredError`
   * instead: answer it with `completeMfaLogin`.
   */
  login(email: string, password: string, device?: string): Promise<{ sessionId: string }> {
    return this.signIn("/api/login", { email, password, device });
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
    return this.signIn("/api/login/mfa", { mfa_token: mfaToken, code: a.code, recovery_code: a.recoveryCode, credential: a.credential });
  }

  /**
   * A login with a passkey alone: `POST /api/login/passkey/start` (with
   * `email`, the options offer that user's passkeys; without, the
   * authenticator picks a discoverable one), the authenticator's assertion
   * (`navigator.credentials`, or `credentials`), `POST
   * /api/login/passkey/finish`. Signs in as `login()` does.
   */
  async loginWithPasskey(options: { email?: string; device?: string; credentials?: CredentialsLike } = {}): Promise<{ sessionId: string }> {
    const start = await requestJson<{ challenge_id: string; publicKey: PasskeyRequestOptionsJson }>(this.http, {
      method: "POST",
      path: "/api/login/passkey/start",
      body: options.email === undefined ? undefined : { email: options.email },
      timeoutMs: this.timeoutMs,
    });
    const { challenge_id, publicKey } = start.body;
    const credential = await passkeyAssertion(publicKey, options.credentials);
    return this.signIn("/api/login/passkey/finish", { challenge_id, credential, device: options.device });
  }

  /**
   * A valid access token, refreshed first if it is about to expire. For a
   * DPoP-bound session (`session.tokenType`) it is useless alone: use
   * `authHeaders()` or `fetch()`.
   */
  async getAccessToken(): Promise<string> {
    return (await this.current()).accessToken;
  }

  /**
   * The headers that authorize one request to `url` with `method`:
   * `Authorization` (`Bearer`, or `DPoP` for a bound session) and, when
   * bound, a new `DPoP` proof (each is accepted once). For transports other
   * than `fetch()` (a WebSocket's first request, a third-party SDK).
   */
  async authHeaders(url: string | URL, method = "GET"): Promise<Record<string, string>> {
    const t = await this.current();
    const signer = this.signerFor(t);
    const headers: Record<string, string> = { authorization: `${signer ? "DPoP" : "Bearer"} ${t.accessToken}` };
    if (signer) headers["dpop"] = await signer.proof(method, this.resolve(url), t.accessToken);
    return headers;
  }

  /** Rotates the refresh token now (joining a rotation already under way). */
  async refresh(): Promise<void> {
    await this.ready;
    await this.rotate({ force: true });
  }

  /**
   * `fetch` with `Authorization: Bearer`, or for a DPoP-bound session
   * `Authorization: DPoP` and a new proof; on 401 `invalid_token` it
   * refreshes once and repeats the request, and on 401 `use_dpop_nonce` it
   * repeats it once with the server's nonce. A relative URL is resolved
   * against `baseUrl`. The body must be repeatable (not a stream).
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = this.resolve(input);
    const tokens = await this.current();
    const res = await this.send(url, init, tokens);
    if (!(await isInvalidToken(res))) return res;
    const fresh = await this.rotate({ failed: tokens.accessToken });
    return this.send(url, init, fresh);
  }

  /** `GET /api/sessions`. */
  async sessions(): Promise<SessionInfo[]> {
    return (await this.authed<{ sessions: SessionInfo[] }>({ method: "GET", path: "/api/sessions" })).sessions;
  }

  /** `POST /api/logout`: ends this session; the local one ends even if the server cannot be reached. */
  async logout(): Promise<void> {
    await this.ready;
    const t = (await this.store.readTokens()) ?? this.tokens;
    if (!t) return;
    try {
      await requestJson(this.http, {
        method: "POST",
        path: "/api/logout",
        body: { refresh_token: t.refreshToken },
        proof: true, // a bound session ends only with a proof of its key
        timeoutMs: this.timeoutMs,
      });
    } finally {
      await this.signOut("logout", t.sessionId);
    }
  }

  /** `POST /api/logout-all`: ends every session of the user, this one too. */
  async logoutAll(): Promise<void> {
    const sessionId = this.tokens?.sessionId;
    await this.authed<unknown>({ method: "POST", path: "/api/logout-all" });
    if (sessionId) await this.signOut("logout", sessionId);
  }

  /**
   * Call when the app comes back from the background: picks up what another
   * process stored meanwhile, finishes a refresh whose answer was lost, and
   * refreshes an access token that expired while suspended. Browsers call it
   * on `visibilitychange` by themselves.
   */
  async resume(): Promise<void> {
    await this.ready;
    const stored = await this.store.readTokens();
    if (!stored) {
      if (this.tokens) await this.signOut("elsewhere", this.tokens.sessionId);
      return;
    }
    if (stored.refreshToken !== this.tokens?.refreshToken) this.adopt(stored, false);
    const inflight = await this.store.readInflight();
    const lost = inflight?.refreshToken === stored.refreshToken;
    if (lost || !this.fresh(stored)) await this.rotate({ force: lost }).catch(ignoreTransient);
    this.schedule();
  }

  /** Stops timers and listeners. The stored session stays. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.broadcast?.close();
    (globalThis as { document?: Document }).document?.removeEventListener?.("visibilitychange", this.onVisible);
  }

  // ---- internals ----

  /**
   * A route that answers a new session (`undefined` members of `body` are
   * left out): with a DPoP proof, so the session is bound to the key; stores
   * it, replacing any, and tells other tabs.
   */
  private async signIn(path: string, body: Record<string, unknown>): Promise<{ sessionId: string }> {
    await this.ready;
    const res = await requestJson<unknown>(this.http, { method: "POST", path, body, proof: true, timeoutMs: this.timeoutMs });
    const tokens = toStoredTokens(res, this.clock.skew);
    await this.store.writeTokens(tokens);
    await this.store.clearInflight();
    this.adopt(tokens, true);
    return { sessionId: tokens.sessionId };
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 10_000;
  }

  private resolve(input: string | URL): string {
    return typeof input === "string" && input.startsWith("/") ? this.http.baseUrl + input : String(input);
  }

  /** The tokens to send now: refreshed first if about to expire. */
  private async current(): Promise<StoredTokens> {
    await this.ready;
    if (!this.tokens) this.adoptStored(await this.store.readTokens());
    const t = this.tokens;
    if (!t) throw signedOutError();
    if (!(await this.holdsKey(t))) return this.keyLost(t);
    if (!this.flight.running && this.fresh(t)) return t;
    try {
      return await this.rotate({});
    } catch (e) {
      // A transient failure: the current token, while it lasts, is still good.
      const cur = this.tokens;
      if (e instanceof AuthdError && e.transient && cur && this.now() < cur.accessTokenExpiresAt) return cur;
      throw e;
    }
  }

  /** The signer for requests with `t`'s access token: set when it is DPoP-bound. */
  private signerFor(t: StoredTokens): DpopSigner | undefined {
    return t.tokenType === "DPoP" ? this.http.dpop : undefined;
  }

  /** Whether this client can use `t`: a bound session needs the key it is bound to. */
  private async holdsKey(t: StoredTokens): Promise<boolean> {
    if (t.tokenType !== "DPoP") return true;
    const signer = this.http.dpop;
    return !!signer && (t.jkt === undefined || t.jkt === (await signer.thumbprint()));
  }

  /**
   * A session bound to a key this client does not hold (its key store was
   * cleared, or DPoP turned off): authd refuses every use of it, so it is
   * over here; nothing is sent (the refresh token stays unspent).
   */
  private async keyLost(t: StoredTokens): Promise<never> {
    await this.signOut("dpop_key", t.sessionId);
    throw signedOutError("the session is bound to a DPoP key this client does not hold");
  }

  private async start(): Promise<void> {
    this.fetchMetadata();
    const stored = await this.store.readTokens();
    this.adoptStored(stored);
    if (!stored) return;
    const inflight = await this.store.readInflight();
    if (inflight?.refreshToken === stored.refreshToken) {
      // An earlier run sent this token and its answer was never stored: spend
      // it again now, inside the grace window, to get the same successor.
      void this.rotate({ force: true }).catch(noop);
    } else if (inflight) {
      await this.store.clearInflight();
    }
  }

  private adoptStored(stored: StoredTokens | null): void {
    if (stored) this.adopt(stored, false);
  }

  /** Makes `tokens` current; `announce`: this client stored them, so tell the other tabs. */
  private adopt(tokens: StoredTokens, announce: boolean): void {
    const cur = this.tokens;
    const changed = tokens.refreshToken !== cur?.refreshToken;
    // Tabs that spent one token together got one successor with several
    // access tokens, all valid: every tab settles on the greatest.
    if (!changed && cur && tokens.accessToken <= cur.accessToken) return;
    this.tokens = tokens;
    this.schedule();
    if (announce) this.broadcast?.post({ type: "tokens", sessionId: tokens.sessionId, tokens });
    if (changed) this.events.emit("tokens", { sessionId: tokens.sessionId });
  }

  private marginMs(t: StoredTokens): number {
    return this.options.refreshMarginMs ?? Math.min(60_000, t.accessTokenLifetime / 4);
  }

  private fresh(t: StoredTokens): boolean {
    return this.now() < t.accessTokenExpiresAt - this.marginMs(t);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const t = this.tokens;
    if (this.closed || !t || this.options.autoRefresh === false) return;
    this.arm(Math.max(0, t.accessTokenExpiresAt - this.marginMs(t) - this.now()));
  }

  private arm(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // A transient failure tries again a little later; the next call or resume sooner.
      this.rotate({}).catch((e: unknown) => {
        if (e instanceof AuthdError && e.transient && !this.closed) this.arm(2_000);
      });
    }, Math.min(delayMs, 2 ** 31 - 1));
    (this.timer as { unref?: () => void }).unref?.();
  }

  private fetchMetadata(): void {
    if (this.graceMs !== undefined || this.metadata) return;
    this.metadata = requestJson<{ refresh_token_reuse_grace?: unknown }>(this.http, {
      method: "GET",
      path: "/.well-known/oauth-authorization-server",
      timeoutMs: this.timeoutMs,
    }).then(
      (res) => {
        const g = res.body.refresh_token_reuse_grace;
        if (typeof g === "number" && g >= 0) this.graceMs = g * 1000;
      },
      () => {
        this.metadata = null; // asked again at the next refresh
      },
    );
  }

  private grace(): number {
    this.fetchMetadata();
    return this.graceMs ?? DEFAULT_GRACE_MS;
  }

  /** One rotation at a time, whoever asks (single flight). */
  private rotate(mode: RotateMode): Promise<StoredTokens> {
    return this.flight.run(() => this.doRotate(mode));
  }

  private async doRotate(mode: RotateMode): Promise<StoredTokens> {
    // Storage is the truth: another tab or process may have rotated already.
    const stored = await this.store.readTokens();
    if (!stored) return this.lostElsewhere();
    if (stored.refreshToken !== this.tokens?.refreshToken) this.adopt(stored, false);
    if (!(await this.holdsKey(stored))) return this.keyLost(stored);
    const replaced = mode.failed !== undefined && mode.failed !== stored.accessToken;
    if (!mode.force && (replaced || (mode.failed === undefined && this.fresh(stored)))) return stored;

    const from = stored.refreshToken;
    let inflight: InflightRefresh | null = await this.store.readInflight();
    if (inflight?.refreshToken !== from) {
      inflight = { refreshToken: from, startedAt: this.now() };
      await this.store.writeInflight(inflight);
    }
    const graceMs = this.grace();
    const timeoutMs = this.options.refreshTimeoutMs ?? Math.max(500, Math.min(this.timeoutMs, graceMs / 3));
    // Every attempt, a retry with the same token too, signs a new proof (each is accepted once).
    const req: JsonRequest = { method: "POST", path: "/api/token", body: { refresh_token: from }, proof: true, timeoutMs };
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await requestJson<unknown>(this.http, req);
        return await this.commit(from, toStoredTokens(res, this.clock.skew));
      } catch (e) {
        if (!(e instanceof AuthdError)) throw e;
        if (e.code === "invalid_grant") return this.refused(stored, e);
        if (!e.transient) throw e;
        let delay: number;
        if (e.status === 429 || e.status === 503) {
          // Nothing changed on the server: wait as told, then the same token again.
          delay = (e.retryAfter ?? 1) * 1000;
          waited += delay;
          if (waited > (this.options.maxRetryWaitMs ?? 60_000)) throw e;
        } else {
          // No answer: the server may have rotated. The same token gets the
          // same successor until the grace window (from the first attempt) ends.
          delay = Math.min(2_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
          if (this.now() + delay >= inflight.startedAt + graceMs) throw e;
        }
        await sleep(delay);
        const now = await this.store.readTokens();
        if (!now) return this.lostElsewhere();
        if (now.refreshToken !== from) return this.settledElsewhere(from, now);
      }
    }
  }

  /** Compare-before-commit: store our rotation only if storage still holds the token it spent. */
  private async commit(from: string, tokens: StoredTokens): Promise<StoredTokens> {
    const current = await this.store.readTokens();
    if (!current) return this.lostElsewhere();
    if (current.refreshToken !== from) return this.settledElsewhere(from, current);
    await this.store.writeTokens(tokens);
    await this.store.clearInflight();
    this.adopt(tokens, true);
    return tokens;
  }

  /** Another tab or process stored newer tokens while we rotated: theirs win. */
  private async settledElsewhere(from: string, current: StoredTokens): Promise<StoredTokens> {
    if ((await this.store.readInflight())?.refreshToken === from) await this.store.clearInflight();
    this.adopt(current, false);
    return current;
  }

  /** `invalid_grant`: the session is over, unless storage holds another session by now. */
  private async refused(spent: StoredTokens, e: AuthdError): Promise<never> {
    const current = await this.store.readTokens();
    if (current && current.sessionId !== spent.sessionId) {
      this.adopt(current, false);
      throw new AuthdError({ status: 0, code: "signed_out", description: "that session ended; another one is stored", cause: e });
    }
    await this.signOut(e.reason === "reused" ? "reused" : "invalid", spent.sessionId);
    throw new AuthdError({ status: 0, code: "signed_out", description: e.description, reason: e.reason, cause: e });
  }

  private async lostElsewhere(): Promise<never> {
    if (this.tokens) await this.signOut("elsewhere", this.tokens.sessionId);
    throw signedOutError("signed out in another tab or process");
  }

  /** Clears storage (if it still holds this session) and tells everyone, once. */
  private async signOut(reason: SignedOutReason, sessionId: string): Promise<void> {
    const stored = await this.store.readTokens();
    if (!stored || stored.sessionId === sessionId) await this.store.clear();
    if (this.tokens?.sessionId !== sessionId) return;
    this.tokens = null;
    clearTimeout(this.timer);
    this.broadcast?.post({ type: "signedOut", sessionId });
    this.events.emit("signedOut", { reason, sessionId });
  }

  private onMessage(m: TokenMessage): void {
    if (m.type === "tokens") {
      // A rotation reads storage first, so a message overtaken by a newer one is harmless.
      this.adopt(m.tokens, false);
    } else if (this.tokens?.sessionId === m.sessionId) {
      void this.signOut("elsewhere", m.sessionId).catch(noop);
    }
  }

  /** A JSON route of authd with the access token; a 401 refreshes once and repeats. */
  private async authed<T>(req: Pick<JsonRequest, "method" | "path" | "body">): Promise<T> {
    const tokens = await this.current();
    const call = (t: StoredTokens): Promise<T> => {
      const bound = this.signerFor(t) !== undefined;
      return requestJson<T>(this.http, { ...req, bearer: t.accessToken, bound, proof: bound, timeoutMs: this.timeoutMs }).then((r) => r.body);
    };
    try {
      return await call(tokens);
    } catch (e) {
      if (!(e instanceof AuthdError) || e.code !== "invalid_token") throw e;
      return call(await this.rotate({ failed: tokens.accessToken }));
    }
  }

  private async send(url: string, init: RequestInit, t: StoredTokens): Promise<Response> {
    const signer = this.signerFor(t);
    for (let retried = false; ; retried = true) {
      const headers = new Headers(init.headers);
      headers.set("authorization", `${signer ? "DPoP" : "Bearer"} ${t.accessToken}`);
      if (signer) headers.set("dpop", await signer.proof(init.method ?? "GET", url, t.accessToken));
      const deadline = new Deadline(this.timeoutMs, init.signal);
      const sentAt = this.now();
      let res: Response;
      try {
        res = await this.http.fetch(url, { ...init, headers, signal: deadline.signal });
        if (url.startsWith(this.http.baseUrl)) this.clock.observe(res.headers.get("date"), sentAt, this.now());
      } catch (e) {
        throw deadline.fail(e);
      } finally {
        deadline.done();
      }
      signer?.observe(url, res.headers);
      // A resource server that wants a nonce (RFC 9449 §9): once more, with a new proof carrying it.
      if (!signer || retried || res.status !== 401 || !/use_dpop_nonce/.test(res.headers.get("www-authenticate") ?? "")) return res;
      await res.body?.cancel().catch(noop);
    }
  }
}

/** Whether a resource server refused the access token (RFC 6750 `invalid_token`). */
async function isInvalidToken(res: Response): Promise<boolean> {
  if (res.status !== 401) return false;
  const challenge = res.headers.get("www-authenticate");
  if (challenge) return /invalid_token/.test(challenge);
  try {
    const body = (await res.clone().json()) as { error?: unknown } | null;
    return body?.error === "invalid_token";
  } catch {
    return false;
  }
}

/** IndexedDB where there is one, so the key outlives a reload; else memory. */
function defaultKeyStore(name: string): DpopKeyStore {
  return (globalThis as { indexedDB?: unknown }).indexedDB ? indexedDbKeyStore(name) : new MemoryKeyStore();
}

function ignoreTransient(e: unknown): void {
  if (!(e instanceof AuthdError) || !(e.transient || e.code === "signed_out")) throw e;
}

function noop(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A client: see AuthdClientOptions. */
export function createAuthdClient(options: AuthdClientOptions): AuthdClient {
  return new AuthdClient(options);
}
