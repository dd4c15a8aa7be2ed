import { ServerClock } from "./clock.js";
import { AuthdError, type InvalidGrantReason } from "./errors.js";

/** The `fetch` this client calls: the platform's, or one given for tests or React Native. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpOptions {
  baseUrl: string;
  fetch: FetchLike;
  now: () => number;
  clock: ServerClock;
}

export interface JsonRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  body?: unknown;
  bearer?: string;
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

  /** What a failed fetch or body read threw, as the error to raise. */
  fail(e: unknown): unknown {
    if (e instanceof AuthdError || this.outer?.aborted) return e;
    return new AuthdError(
      this.timedOut
        ? { status: 0, code: "timeout", description: `no answer within ${this.timeoutMs} ms`, cause: e }
        : { status: 0, code: "network_error", description: describe(e), cause: e },
    );
  }

  done(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener("abort", this.onAbort);
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
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
  return new AuthdError({
    status: res.status,
    code: typeof body.error === "string" ? body.error : `http_${res.status}`,
    description: typeof body.error_description === "string" ? body.error_description : res.statusText,
    reason,
    retryAfter: parseRetryAfter(res.headers.get("retry-after"), now),
    requestId: res.headers.get("x-request-id") ?? undefined,
  });
}

/** Calls an authd JSON route; a non-2xx answer throws its AuthdError. */
export async function requestJson<T>(http: HttpOptions, req: JsonRequest): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (req.body !== undefined) headers["content-type"] = "application/json";
  if (req.bearer !== undefined) headers["authorization"] = `Bearer ${req.bearer}`;
  const deadline = new Deadline(req.timeoutMs);
  const init: RequestInit = { method: req.method, headers, signal: deadline.signal };
  if (req.body !== undefined) init.body = JSON.stringify(req.body);
  const sentAt = http.now();
  try {
    const res = await http.fetch(http.baseUrl + req.path, init);
    const receivedAt = http.now();
    http.clock.observe(res.headers.get("date"), sentAt, receivedAt);
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
    throw deadline.fail(e);
  } finally {
    deadline.done();
  }
}
