import { TokenBroadcast, type TokenMessage } from "./broadcast.js";
import type { DpopSigner } from "./dpop.js";
import { AuthdError, signedOutError } from "./errors.js";
import { Emitter, type SignedOutReason } from "./events.js";
import { requestJson, type HttpOptions, type JsonRequest } from "./http.js";
import { SingleFlight } from "./singleFlight.js";
import { MemoryStorage, TokenStore, type InflightRefresh, type StoredTokens, type TokenStorage } from "./storage.js";
import { toStoredTokens } from "./tokens.js";

/** What the keeper needs to know of the client's options. */
export interface KeeperOptions {
  /** Prefix of the storage keys and name of the BroadcastChannel. */
  storageKey: string;
  /** Timeout of each request, ms. */
  timeoutMs: number;
  refreshTimeoutMs?: number | undefined;
  refreshMarginMs?: number | undefined;
  refreshReuseGraceMs?: number | undefined;
  maxRetryWaitMs?: number | undefined;
  broadcast?: boolean | undefined;
  autoRefresh: boolean;
}

export interface RotateMode {
  /** Rotate even if the access token looks fresh. */
  force?: boolean;
  /** The access token a resource server refused: rotate unless it was replaced already. */
  failed?: string;
}

const DEFAULT_GRACE_MS = 10_000;

/**
 * The session's tokens, kept: in storage (the truth, shared with other
 * tabs and processes), in memory, and told to other tabs; rotated one at a
 * time whoever asks (single flight), before they expire (a timer, and
 * `visibilitychange` in browsers), and again after a lost answer (inside
 * the grace window, to get the same successor). Everything that sends a
 * request with them asks `current()`.
 */
export class TokenKeeper {
  /** Settles once the stored session has been read. */
  readonly ready: Promise<void>;
  readonly events = new Emitter();

  private tokens: StoredTokens | null = null;
  private readonly store: TokenStore;
  private readonly flight = new SingleFlight<StoredTokens>();
  private readonly broadcast: TokenBroadcast | null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private graceMs: number | undefined;
  private metadata: Promise<void> | null = null;
  private closed = false;
  private readonly onVisible = (): void => {
    if ((globalThis as { document?: Document }).document?.visibilityState === "visible") void this.resume().catch(noop);
  };

  constructor(
    private readonly http: HttpOptions,
    storage: TokenStorage | undefined,
    private readonly options: KeeperOptions,
  ) {
    const kept = storage ?? new MemoryStorage();
    this.store = new TokenStore(kept, options.storageKey);
    this.graceMs = options.refreshReuseGraceMs;
    const share = options.broadcast ?? !(kept instanceof MemoryStorage);
    this.broadcast = share ? new TokenBroadcast(`authd:${options.storageKey}`, (m) => this.onMessage(m)) : null;
    const doc = (globalThis as { document?: Document }).document;
    if (options.autoRefresh) doc?.addEventListener?.("visibilitychange", this.onVisible);
    this.ready = this.start();
  }

  /** The tokens held now, or null (they may have expired). */
  get held(): StoredTokens | null {
    return this.tokens;
  }

  /** The session as storage holds it now (another tab may have changed it). */
  stored(): Promise<StoredTokens | null> {
    return this.store.readTokens();
  }

  /** A route's answer of a new session: stored (replacing any), and told to other tabs. */
  async install(res: Parameters<typeof toStoredTokens>[0]): Promise<StoredTokens> {
    const tokens = toStoredTokens(res, this.http.clock.skew);
    await this.store.writeTokens(tokens);
    await this.store.clearInflight();
    this.adopt(tokens, true);
    return tokens;
  }

  /** The tokens to send now: refreshed first if about to expire. */
  async current(): Promise<StoredTokens> {
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
      if (e instanceof AuthdError && e.transient && cur && this.http.now() < cur.accessTokenExpiresAt) return cur;
      throw e;
    }
  }

  /** The signer for requests with `t`'s access token: set when it is DPoP-bound. */
  signerFor(t: StoredTokens): DpopSigner | undefined {
    return t.tokenType === "DPoP" ? this.http.dpop : undefined;
  }

  /** One rotation at a time, whoever asks (single flight). */
  rotate(mode: RotateMode): Promise<StoredTokens> {
    return this.flight.run(() => this.doRotate(mode));
  }

  /**
   * Picks up what another process stored meanwhile, finishes a refresh
   * whose answer was lost, and refreshes an access token that expired while
   * suspended.
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

  /** Clears storage (if it still holds this session) and tells everyone, once. */
  async signOut(reason: SignedOutReason, sessionId: string): Promise<void> {
    const stored = await this.store.readTokens();
    if (!stored || stored.sessionId === sessionId) await this.store.clear();
    if (this.tokens?.sessionId !== sessionId) return;
    this.tokens = null;
    clearTimeout(this.timer);
    this.broadcast?.post({ type: "signedOut", sessionId });
    this.events.emit("signedOut", { reason, sessionId });
  }

  /** Stops timers and listeners. The stored session stays. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.broadcast?.close();
    (globalThis as { document?: Document }).document?.removeEventListener?.("visibilitychange", this.onVisible);
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
    return this.http.now() < t.accessTokenExpiresAt - this.marginMs(t);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const t = this.tokens;
    if (this.closed || !t || !this.options.autoRefresh) return;
    this.arm(Math.max(0, t.accessTokenExpiresAt - this.marginMs(t) - this.http.now()));
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
      timeoutMs: this.options.timeoutMs,
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
      inflight = { refreshToken: from, startedAt: this.http.now() };
      await this.store.writeInflight(inflight);
    }
    const graceMs = this.grace();
    const timeoutMs = this.options.refreshTimeoutMs ?? Math.max(500, Math.min(this.options.timeoutMs, graceMs / 3));
    // Every attempt, a retry with the same token too, signs a new proof (each is accepted once).
    const req: JsonRequest = { method: "POST", path: "/api/token", body: { refresh_token: from }, proof: true, timeoutMs };
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await requestJson<unknown>(this.http, req);
        return await this.commit(from, toStoredTokens(res, this.http.clock.skew));
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
          if (this.http.now() + delay >= inflight.startedAt + graceMs) throw e;
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

  private onMessage(m: TokenMessage): void {
    if (m.type === "tokens") {
      // A rotation reads storage first, so a message overtaken by a newer one is harmless.
      this.adopt(m.tokens, false);
    } else if (this.tokens?.sessionId === m.sessionId) {
      void this.signOut("elsewhere", m.sessionId).catch(noop);
    }
  }
}

function ignoreTransient(e: unknown): void {
  if (!(e instanceof AuthdError) || !(e.transient || e.code === "signed_out")) throw e;
}

export function noop(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
