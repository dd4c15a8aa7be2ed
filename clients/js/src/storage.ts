/**
 * Where the client keeps its tokens. Every method may be sync or async, so
 * `localStorage`, React Native's AsyncStorage and a small adapter over
 * secure storage (Keychain / Keystore, e.g. expo-secure-store) all fit:
 *
 * ```ts
 * import * as SecureStore from "expo-secure-store";
 * const storage: TokenStorage = {
 *   getItem: (k) => SecureStore.getItemAsync(k),
 *   setItem: (k, v) => SecureStore.setItemAsync(k, v),
 *   removeItem: (k) => SecureStore.deleteItemAsync(k),
 * };
 * ```
 *
 * Keys are `<storageKey>.tokens` and `<storageKey>.inflight` (letters, digits,
 * `.`, `-`, `_` only, as expo-secure-store requires).
 */
export interface TokenStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** Keeps tokens in this object only: gone with the process. */
export class MemoryStorage implements TokenStorage {
  readonly #items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.#items.set(key, value);
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
}

export function memoryStorage(): MemoryStorage {
  return new MemoryStorage();
}

/** The browser's `localStorage`, shared by the tabs of an origin. */
export function localStorageStorage(): TokenStorage {
  const ls = (globalThis as { localStorage?: Storage }).localStorage;
  if (!ls) throw new Error("localStorage is not available here");
  return {
    getItem: (k) => ls.getItem(k),
    setItem: (k, v) => ls.setItem(k, v),
    removeItem: (k) => ls.removeItem(k),
  };
}

/** What the client stores of a session. Times are local epoch ms. */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  /** When the access token expires, on the local clock (server `exp` minus skew). */
  accessTokenExpiresAt: number;
  /** Its lifetime in ms, for the refresh margin. */
  accessTokenLifetime: number;
  refreshTokenExpiresAt: number;
  /** `DPoP`: the session is bound to a DPoP key (absent: a Bearer session). */
  tokenType?: "DPoP";
  /** The thumbprint of that key (the access token's `cnf.jkt`). */
  jkt?: string;
}

/** A refresh that was sent and whose answer is not stored (yet). */
export interface InflightRefresh {
  refreshToken: string;
  startedAt: number;
}

/** Typed, JSON-encoded access to the two records the client keeps. */
export class TokenStore {
  constructor(private readonly storage: TokenStorage, private readonly key: string) {}

  async readTokens(): Promise<StoredTokens | null> {
    return parse(await this.storage.getItem(`${this.key}.tokens`), isStoredTokens);
  }
  async writeTokens(tokens: StoredTokens): Promise<void> {
    await this.storage.setItem(`${this.key}.tokens`, JSON.stringify(tokens));
  }
  async readInflight(): Promise<InflightRefresh | null> {
    return parse(await this.storage.getItem(`${this.key}.inflight`), isInflight);
  }
  async writeInflight(record: InflightRefresh): Promise<void> {
    await this.storage.setItem(`${this.key}.inflight`, JSON.stringify(record));
  }
  async clearInflight(): Promise<void> {
    await this.storage.removeItem(`${this.key}.inflight`);
  }
  async clear(): Promise<void> {
    await this.storage.removeItem(`${this.key}.inflight`);
    await this.storage.removeItem(`${this.key}.tokens`);
  }
}

function parse<T>(text: string | null, valid: (v: unknown) => v is T): T | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return valid(value) ? value : null;
  } catch {
    return null;
  }
}

export function isStoredTokens(v: unknown): v is StoredTokens {
  const t = v as Partial<StoredTokens> | null;
  return (
    !!t &&
    typeof t.accessToken === "string" &&
    typeof t.refreshToken === "string" &&
    typeof t.sessionId === "string" &&
    typeof t.accessTokenExpiresAt === "number" &&
    typeof t.accessTokenLifetime === "number" &&
    typeof t.refreshTokenExpiresAt === "number"
  );
}

function isInflight(v: unknown): v is InflightRefresh {
  const r = v as Partial<InflightRefresh> | null;
  return !!r && typeof r.refreshToken === "string" && typeof r.startedAt === "number";
}
