import { TokenBroadcast, type TokenMessage } from "./broadcast.js";
import { ServerClock } from "./clock.js";
import { AuthdError, signedOutError } from "./errors.js";
import { Emitter, type AuthdEvents, type Listener, type SignedOutReason } from "./events.js";
import { Deadline, requestJson, type FetchLike, type HttpOptions, type JsonRequest } from "./http.js";
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
}

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
    this.http = { baseUrl: options.baseUrl.replace(/\/+$/, ""), fetch: fetchImpl, now: this.now, clock: this.clock };
    const key = options.storageKey ?? "authd";
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

  /** The current session, or null. `accessToken` may have expired: `getAccessToken()` refreshes it. */
  get session(): { sessionId: string; accessToken: string; accessTokenExpiresAt: number } | null {
    const t = this.tokens;
    return t && { sessionId: t.sessionId, accessToken: t.accessToken, accessTokenExpiresAt: t.accessTokenExpiresAt };
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

  /** `POST /api/login`: stores the new session (replacing any) and tells other tabs. */
  async login(email: string, password: string, device?: string): Promise<{ sessionId: string }> {
    await this.ready;
    const body: Record<string, string> = { email, password };
    if (device !== undefined) body["device"] = device;
    const res = await requestJson<unknown>(this.http, { method: "POST", path: "/api/login", body, timeoutMs: this.timeoutMs });
    const tokens = toStoredTokens(res, this.clock.skew);
    await this.store.writeTokens(tokens);
    await this.store.clearInflight();
    this.adopt(tokens, true);
    return { sessionId: tokens.sessionId };
  }

  /** A valid access token, refreshed first if it is about to expire. */
  async getAccessToken(): Promise<string> {
    await this.ready;
    if (!this.tokens) this.adoptStored(await this.store.readTokens());
    const t = this.tokens;
    if (!t) throw signedOutError();
    if (!this.flight.running && this.fresh(t)) return t.accessToken;
    try {
      return (await this.rotate({})).accessToken;
    } catch (e) {
      // A transient failure: the current token, while it lasts, is still good.
      const cur = this.tokens;
      if (e instanceof AuthdError && e.transient && cur && this.now() < cur.accessTokenExpiresAt) return cur.accessToken;
      throw e;
    }
  }

  /** Rotates the refresh token now (joining a rotation already under way). */
  async refresh(): Promise<void> {
    await this.ready;
    await this.rotate({ force: true });
  }

  /**
   * `fetch` with `Authorization: Bearer`; on 401 `invalid_token` it refreshes
   * once and repeats the request. A relative URL is resolved against
   * `baseUrl`. The body must be repeatable (not a stream).
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = typeof input === "string" && input.startsWith("/") ? this.http.baseUrl + input : String(input);
    const token = await this.getAccessToken();
    const res = await this.send(url, init, token);
    if (!(await isInvalidToken(res))) return res;
    const fresh = await this.rotate({ failed: token });
    return this.send(url, init, fresh.accessToken);
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

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 10_000;
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
    const req: JsonRequest = { method: "POST", path: "/api/token", body: { refresh_token: from }, timeoutMs };
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
  private async authed<T>(req: Omit<JsonRequest, "timeoutMs" | "bearer">): Promise<T> {
    const token = await this.getAccessToken();
    const call = (bearer: string): Promise<T> =>
      requestJson<T>(this.http, { ...req, bearer, timeoutMs: this.timeoutMs }).then((r) => r.body);
    try {
      return await call(token);
    } catch (e) {
      if (!(e instanceof AuthdError) || e.code !== "invalid_token") throw e;
      return call((await this.rotate({ failed: token })).accessToken);
    }
  }

  private async send(url: string, init: RequestInit, token: string): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${token}`);
    const deadline = new Deadline(this.timeoutMs, init.signal);
    const sentAt = this.now();
    try {
      const res = await this.http.fetch(url, { ...init, headers, signal: deadline.signal });
      if (url.startsWith(this.http.baseUrl)) this.clock.observe(res.headers.get("date"), sentAt, this.now());
      return res;
    } catch (e) {
      throw deadline.fail(e);
    } finally {
      deadline.done();
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
