import { ServerClock } from "./clock.js";
import type { DpopSigner } from "./dpop.js";
import { AuthdError, MfaRequiredError, type AuthdErrorInit, type InvalidGrantReason } from "./errors.js";
import type { PasskeyRequestOptionsJson } from "./passkey.js";

/** The `fetch` this client calls: the platform's, or one given for tests or React Native. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpOptions {
  baseUrl: string;
  fetch: FetchLike;
  now: () => number;
  clock: ServerClock;
  /** Set when DPoP is on. */
  dpop?: DpopSigner | undefined;
}

export interface JsonRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
  /** The access token to send. */
  bearer?: string;
  /** Send it as `DPoP` (bound to the key) rather than `Bearer`. */
  bound?: boolean;
  /** Sign a DPoP proof (when DPoP is on): with `ath` of `bearer` when bound. */
  proof?: boolean;
  timeoutMs: number;
}

export interface JsonResponse<T> {
  body: T;
  status: number;
  sentAt: number;
  receivedAt: number;
}

/**
 * An AbortController that fires after `timeoutMs`, or when the caller's
 * signal does; `fail` turns what a fetch threw into an AuthdError.
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private timedOut = false;
  private readonly onAbort = (): void => this.controller.abort();

  constructor(private readonly timeoutMs: number, private readonly outer?: AbortSignal | null) {
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, timeoutMs);
    if (outer) {
      if (outer.aborted) this.controller.abort();
      else outer.addEventListener("abort", this.onAbort);
    }
  }

  /**
   * What a failed fetch or body read of `method` `url` threw, as the error
   * to raise: its description names the request (the URL without query or
   * fragment), and `cause` is what was thrown.
   */
  fail(e: unknown, method: string, url: string): unknown {
    if (e instanceof AuthdError || this.outer?.aborted) return e;
    const request = `${method.toUpperCase()} ${url.replace(/[?#].*$/s, "")}`;
    return new AuthdError(
      this.timedOut
        ? { status: 0, code: "timeout", description: `${request}: no answer within ${this.timeoutMs} ms`, cause: e }
        : { status: 0, code: "network_error", description: `${request}: ${describe(e)}`, cause: e },
    );
  }

  done(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener("abort", this.onAbort);
  }
}

/** An error's message, with its cause's (Node's fetch says "fetch failed" and puts ECONNREFUSED there). */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message && !e.message.includes(cause.message) ? `${e.message} (${cause.message})` : e.message;
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (value.trim() !== "" && Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

interface ErrorBody {
  error?: unknown;
  error_description?: unknown;
  reason?: unknown;
  mfa_token?: unknown;
  factors?: unknown;
  publicKey?: unknown;
}

/** An authd error answer as an AuthdError (the body read to its end). */
export async function errorFromResponse(res: Response, now: number): Promise<AuthdError> {
  let body: ErrorBody = {};
  try {
    const parsed: unknown = await res.json();
    if (parsed && typeof parsed === "object") body = parsed as ErrorBody;
  } catch {
    // not JSON: described by the status alone
  }
  const reason = body.reason === "reused" || body.reason === "invalid" ? (body.reason as InvalidGrantReason) : undefined;
  const init: AuthdErrorInit = {
    status: res.status,
    code: typeof body.error === "string" ? body.error : `http_${res.status}`,
    description: typeof body.error_description === "string" ? body.error_description : res.statusText,
    reason,
    retryAfter: parseRetryAfter(res.headers.get("retry-after"), now),
    requestId: res.headers.get("x-request-id") ?? undefined,
  };
  const { mfa_token, factors, publicKey } = body;
  if (init.code === "mfa_required" && typeof mfa_token === "string") {
    return new MfaRequiredError({
      ...init,
      mfaToken: mfa_token,
      factors: Array.isArray(factors) ? factors.filter((f): f is string => typeof f === "string") : [],
      publicKey: publicKey && typeof publicKey === "object" ? (publicKey as PasskeyRequestOptionsJson) : undefined,
    });
  }
  return new AuthdError(init);
}

/**
 * Calls an authd JSON route; a non-2xx answer throws its AuthdError. With
 * DPoP, each attempt has a new proof (each is accepted once), and the
 * request is repeated once when authd asks for a nonce (`use_dpop_nonce`,
 * the nonce in `DPoP-Nonce`), and once when it refused the proof while this
 * answer's `Date` moved the server clock by more than the 5 s a proof's
 * `iat` may be ahead (a wrong local clock, found out by this answer).
 */
export async function requestJson<T>(http: HttpOptions, req: JsonRequest): Promise<JsonResponse<T>> {
  let retried = "";
  for (;;) {
    const skew = http.clock.skew;
    try {
      return await attempt<T>(http, req);
    } catch (e) {
      const why =
        !http.dpop || !req.proof || !(e instanceof AuthdError)
          ? ""
          : e.code === "use_dpop_nonce"
            ? "n"
            : e.code === "invalid_dpop_proof" && Math.abs(http.clock.skew - skew) > 5000
              ? "c"
              : "";
      if (!why || retried.includes(why)) throw e;
      retried += why;
    }
  }
}

async function attempt<T>(http: HttpOptions, req: JsonRequest): Promise<JsonResponse<T>> {
  const url = http.baseUrl + req.path;
  const headers: Record<string, string> = { accept: "application/json" };
  if (req.body !== undefined) headers["content-type"] = "application/json";
  if (req.bearer !== undefined) headers["authorization"] = `${req.bound ? "DPoP" : "Bearer"} ${req.bearer}`;
  if (http.dpop && req.proof) headers["dpop"] = await http.dpop.proof(req.method, url, req.bound ? req.bearer : undefined);
  const deadline = new Deadline(req.timeoutMs);
  const init: RequestInit = { method: req.method, headers, signal: deadline.signal };
  if (req.body !== undefined) init.body = JSON.stringify(req.body);
  const sentAt = http.now();
  try {
    const res = await http.fetch(url, init);
    const receivedAt = http.now();
    http.clock.observe(res.headers.get("date"), sentAt, receivedAt);
    http.dpop?.observe(url, res.headers);
    if (!res.ok) throw await errorFromResponse(res, receivedAt);
    const text = await res.text();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch (e) {
      throw new AuthdError({ status: res.status, code: "invalid_response", description: describe(e), cause: e });
    }
    return { body: body as T, status: res.status, sentAt, receivedAt };
  } catch (e) {
    throw deadline.fail(e, req.method, url);
  } finally {
    deadline.done();
  }
}
