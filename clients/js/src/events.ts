/** Why the client no longer holds a session. */
export type SignedOutReason =
  /** `logout()`, `logoutAll()` or `deleteAccount()` here. */
  | "logout"
  /** authd saw a refresh token used twice and ended the session (`reason: "reused"`). */
  | "reused"
  /** The session ended otherwise: expired, logged out on another device, password changed (`reason: "invalid"`). */
  | "invalid"
  /** Another tab or process signed out, or its storage was cleared. */
  | "elsewhere"
  /**
   * The session is bound to a DPoP key this client does not hold (its key
   * store was cleared, or DPoP was turned off): authd would refuse it.
   */
  | "dpop_key";

export interface AuthdEvents {
  /** Once per session that ends, in every tab that held it. */
  signedOut: { reason: SignedOutReason; sessionId: string };
  /** New tokens: login, a refresh here, or one adopted from another tab. */
  tokens: { sessionId: string };
}

export type Listener<E extends keyof AuthdEvents> = (event: AuthdEvents[E]) => void;

export class Emitter {
  private readonly listeners: { [E in keyof AuthdEvents]: Set<Listener<E>> } = {
    signedOut: new Set(),
    tokens: new Set(),
  };

  on<E extends keyof AuthdEvents>(event: E, listener: Listener<E>): () => void {
    const set = this.listeners[event] as Set<Listener<E>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends keyof AuthdEvents>(event: E, payload: AuthdEvents[E]): void {
    for (const listener of [...(this.listeners[event] as Set<Listener<E>>)]) {
      try {
        listener(payload);
      } catch (e) {
        // a listener's bug must not break the client
        setTimeout(() => {
          throw e;
        });
      }
    }
  }
}
