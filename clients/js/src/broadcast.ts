import { isStoredTokens, type StoredTokens } from "./storage.js";

/**
 * What tabs tell each other. The tokens travel in the message because a
 * tab's view of localStorage may lag behind another tab's write.
 */
export type TokenMessage =
  | { type: "tokens"; sessionId: string; tokens: StoredTokens }
  | { type: "signedOut"; sessionId: string };

/** A BroadcastChannel when the platform has one (browsers, Node); else nothing. */
export class TokenBroadcast {
  private channel: BroadcastChannel | null = null;

  constructor(name: string, onMessage: (m: TokenMessage) => void) {
    const BC = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
    if (typeof BC !== "function") return;
    const channel = new BC(name);
    channel.onmessage = (ev: MessageEvent<unknown>) => {
      const m = ev.data as { type?: unknown; sessionId?: unknown; tokens?: unknown } | null;
      if (!m || typeof m.sessionId !== "string") return;
      if (m.type === "signedOut") onMessage({ type: "signedOut", sessionId: m.sessionId });
      if (m.type === "tokens" && isStoredTokens(m.tokens)) onMessage({ type: "tokens", sessionId: m.sessionId, tokens: m.tokens });
    };
    // Node: a channel must not keep the process alive.
    (channel as { unref?: () => void }).unref?.();
    this.channel = channel;
  }

  post(message: TokenMessage): void {
    try {
      this.channel?.postMessage(message);
    } catch {
      // closed: nobody to tell
    }
  }

  close(): void {
    this.channel?.close();
    this.channel = null;
  }
}
