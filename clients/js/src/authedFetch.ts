import { AuthdError } from "./errors.js";
import { Deadline, requestJson, type HttpOptions, type JsonRequest } from "./http.js";
import { noop, type TokenKeeper } from "./keeper.js";
import type { StoredTokens } from "./storage.js";

/** What an authorized request goes through: the keeper's tokens, over this transport. */
export interface Authorized {
  keeper: TokenKeeper;
  http: HttpOptions;
  timeoutMs: number;
}

/**
 * `fetch` with the session's access token: `Authorization: Bearer`, or for
 * a DPoP-bound session `Authorization: DPoP` and a new proof; on 401
 * `invalid_token` it refreshes once and repeats the request, and on 401
 * `use_dpop_nonce` it repeats it once with the server's nonce. `url` is
 * absolute. The body must be repeatable (not a stream).
 */
export async function authedFetch(a: Authorized, url: string, init: RequestInit = {}): Promise<Response> {
  const tokens = await a.keeper.current();
  const res = await send(a, url, init, tokens);
  if (!(await isInvalidToken(res))) return res;
  const fresh = await a.keeper.rotate({ failed: tokens.accessToken });
  return send(a, url, init, fresh);
}

/** A JSON route of authd with the access token; a 401 refreshes once and repeats. */
export async function authedJson<T>(a: Authorized, req: Pick<JsonRequest, "method" | "path" | "body">): Promise<T> {
  const tokens = await a.keeper.current();
  const call = (t: StoredTokens): Promise<T> => {
    const bound = a.keeper.signerFor(t) !== undefined;
    return requestJson<T>(a.http, { ...req, bearer: t.accessToken, bound, proof: bound, timeoutMs: a.timeoutMs }).then((r) => r.body);
  };
  try {
    return await call(tokens);
  } catch (e) {
    if (!(e instanceof AuthdError) || e.code !== "invalid_token") throw e;
    return call(await a.keeper.rotate({ failed: tokens.accessToken }));
  }
}

/** One request with `t`'s access token (and a proof when bound), repeated once for a nonce. */
async function send(a: Authorized, url: string, init: RequestInit, t: StoredTokens): Promise<Response> {
  const signer = a.keeper.signerFor(t);
  for (let retried = false; ; retried = true) {
    const headers = new Headers(init.headers);
    headers.set("authorization", `${signer ? "DPoP" : "Bearer"} ${t.accessToken}`);
    if (signer) headers.set("dpop", await signer.proof(init.method ?? "GET", url, t.accessToken));
    const deadline = new Deadline(a.timeoutMs, init.signal);
    const sentAt = a.http.now();
    let res: Response;
    try {
      res = await a.http.fetch(url, { ...init, headers, signal: deadline.signal });
      if (url.startsWith(a.http.baseUrl)) a.http.clock.observe(res.headers.get("date"), sentAt, a.http.now());
    } catch (e) {
      throw deadline.fail(e, init.method ?? "GET", url);
    } finally {
      deadline.done();
    }
    signer?.observe(url, res.headers);
    // A resource server that wants a nonce (RFC 9449 §9): once more, with a new proof carrying it.
    if (!signer || retried || res.status !== 401 || !/use_dpop_nonce/.test(res.headers.get("www-authenticate") ?? "")) return res;
    await res.body?.cancel().catch(noop);
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
