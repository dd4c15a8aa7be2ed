/**
 * DPoP (RFC 9449): a key pair of this installation, and a proof signed with
 * it for every request, so that a copied access or refresh token is
 * worthless without the private key, which cannot be exported at all.
 */

import { toBase64url } from "./base64url.js";

/**
 * Where the installation's key pair lives. A non-extractable `CryptoKey`
 * cannot be written out as a string, so this is not a `TokenStorage`: it
 * holds the key objects themselves (IndexedDB can, by structured clone).
 * Keep it as widely shared as the token storage (tabs of an origin share
 * IndexedDB): a session is bound to one key, and a client without that key
 * cannot use it.
 */
export interface DpopKeyStore {
  /** The stored key pair, or null before one is stored. */
  load(): CryptoKeyPair | null | Promise<CryptoKeyPair | null>;
  /**
   * Stores `keys` unless a pair is stored already (another tab may have
   * been first); returns the pair stored now, which every caller then uses.
   */
  saveIfAbsent(keys: CryptoKeyPair): CryptoKeyPair | Promise<CryptoKeyPair>;
}

/** Keeps the key pair in this object only: a new key, so a new session, per process. */
export class MemoryKeyStore implements DpopKeyStore {
  #keys: CryptoKeyPair | null = null;
  load(): CryptoKeyPair | null {
    return this.#keys;
  }
  saveIfAbsent(keys: CryptoKeyPair): CryptoKeyPair {
    return (this.#keys ??= keys);
  }
}

export function memoryKeyStore(): MemoryKeyStore {
  return new MemoryKeyStore();
}

const DB = "authd-dpop";
const STORE = "keys";

/**
 * The browser's IndexedDB (database `authd-dpop`), which keeps a
 * non-extractable key across reloads and shares it between the tabs of an
 * origin. `name`: the record's key (the client passes its `storageKey`).
 */
export function indexedDbKeyStore(name = "authd"): DpopKeyStore {
  const idb = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (!idb) throw new Error("IndexedDB is not available here");
  const run = <T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const open = idb.open(DB, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    }).then(
      (db) =>
        new Promise<T>((resolve, reject) => {
          const tx = db.transaction(STORE, mode);
          const req = op(tx.objectStore(STORE));
          tx.oncomplete = () => (db.close(), resolve(req.result));
          tx.onabort = tx.onerror = () => (db.close(), reject(tx.error ?? req.error));
        }),
    );
  const load = async (): Promise<CryptoKeyPair | null> => {
    const v = (await run("readonly", (s) => s.get(name))) as Partial<CryptoKeyPair> | undefined;
    return v?.privateKey && v.publicKey ? (v as CryptoKeyPair) : null;
  };
  return {
    load,
    async saveIfAbsent(keys) {
      try {
        // `add`, not `put`: of two tabs that made a key at once, the first stored wins.
        await run("readwrite", (s) => s.add(keys, name));
        return keys;
      } catch (e) {
        const stored = await load();
        if (stored) return stored;
        throw e;
      }
    },
  };
}

interface Key {
  privateKey: CryptoKey;
  /** The public key as the proof's `jwk`: its RFC 7638 members, in their order. */
  jwk: { crv: string; kty: string; x: string; y: string };
  /** RFC 7638 thumbprint (SHA-256, base64url): the `cnf.jkt` of bound tokens. */
  jkt: string;
}

const encoder = new TextEncoder();

const json64 = (v: unknown): string => toBase64url(encoder.encode(JSON.stringify(v)));

export function subtleCrypto(): SubtleCrypto {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new Error("DPoP needs WebCrypto (crypto.subtle; in browsers, a secure context)");
  return subtle;
}

async function sha256(text: string): Promise<string> {
  return toBase64url(await subtleCrypto().digest("SHA-256", encoder.encode(text)));
}

/** A URL's origin, and the URL without query and fragment (`htu`). */
export function splitUrl(url: string): { origin: string; htu: string } {
  const u = new URL(url, (globalThis as { location?: { href: string } }).location?.href);
  return { origin: u.origin, htu: u.origin + u.pathname };
}

/**
 * Signs proofs with the installation's key and remembers each origin's
 * latest `DPoP-Nonce`.
 */
export class DpopSigner {
  private key: Promise<Key> | null = null;
  private readonly nonces = new Map<string, string>();

  /** `serverNow`: the server's clock, epoch ms (the proof's `iat`). */
  constructor(private readonly store: DpopKeyStore, private readonly serverNow: () => number) {
    subtleCrypto();
  }

  /** The thumbprint of this installation's key (made and stored on first use). */
  async thumbprint(): Promise<string> {
    return (await this.keys()).jkt;
  }

  /** A proof for one request; `accessToken`: the token it goes with (`ath`). */
  async proof(method: string, url: string, accessToken?: string): Promise<string> {
    const { privateKey, jwk } = await this.keys();
    const { origin, htu } = splitUrl(url);
    const claims: Record<string, string | number> = {
      jti: crypto.randomUUID(),
      htm: method.toUpperCase(),
      htu,
      iat: Math.floor(this.serverNow() / 1000),
    };
    const nonce = this.nonces.get(origin);
    if (nonce !== undefined) claims["nonce"] = nonce;
    if (accessToken !== undefined) claims["ath"] = await sha256(accessToken);
    const input = `${json64({ typ: "dpop+jwt", alg: "ES256", jwk })}.${json64(claims)}`;
    // WebCrypto's ECDSA signature is r||s, as JWS wants it (RFC 7518 §3.4).
    const sig = await subtleCrypto().sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, encoder.encode(input));
    return `${input}.${toBase64url(sig)}`;
  }

  /** Remembers the `DPoP-Nonce` of an answer from `url`'s origin. */
  observe(url: string, headers: Headers): void {
    const nonce = headers.get("dpop-nonce");
    if (nonce) this.nonces.set(splitUrl(url).origin, nonce);
  }

  private keys(): Promise<Key> {
    return (this.key ??= this.loadKeys().catch((e: unknown) => {
      this.key = null; // asked again at the next request
      throw e;
    }));
  }

  private async loadKeys(): Promise<Key> {
    const subtle = subtleCrypto();
    let pair = await this.store.load();
    if (!pair) {
      // Non-extractable: the private key never leaves WebCrypto, not even to its store.
      const made = (await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])) as CryptoKeyPair;
      pair = await this.store.saveIfAbsent(made);
    }
    // A public key is always extractable.
    const { crv, kty, x, y } = await subtle.exportKey("jwk", pair.publicKey);
    if (kty !== "EC" || crv !== "P-256" || !x || !y) throw new Error("the DPoP key store holds no ECDSA P-256 key pair");
    const jwk = { crv, kty, x, y };
    return { privateKey: pair.privateKey, jwk, jkt: await sha256(JSON.stringify(jwk)) };
  }
}
