// How an app uses @authd/client (docs/clients.md quotes this file; the
// tests compile it and run it against authd).
import { AuthdClient, isAuthdError, MfaRequiredError, type MfaAnswer, type TokenStorage } from "@authd/client";

/** The part of expo-secure-store (Keychain on iOS, Keystore on Android) the adapter needs. */
export interface SecureStoreLike {
  getItemAsync(key: string): Promise<string | null>;
  setItemAsync(key: string, value: string): Promise<void>;
  deleteItemAsync(key: string): Promise<void>;
}

/** A TokenStorage over secure storage. */
export function secureStorage(store: SecureStoreLike): TokenStorage {
  return {
    getItem: (key) => store.getItemAsync(key),
    setItem: (key, value) => store.setItemAsync(key, value),
    removeItem: (key) => store.deleteItemAsync(key),
  };
}

export interface App {
  client: AuthdClient;
  /** GET /api/secure: the message, or null when signed out. */
  loadSecret(): Promise<string | null>;
  /** What the app shows after the session ended. */
  screen: "home" | "login";
}

/** Starting the app: one client for the whole app, over the app's storage. */
export function startApp(baseUrl: string, storage: TokenStorage): App {
  const client = new AuthdClient({ baseUrl, storage });
  const app: App = {
    client,
    screen: "login",
    async loadSecret() {
      try {
        // Bearer attached; refreshed first when about to expire; a 401 refreshes once and repeats.
        const res = await client.fetch("/api/secure");
        if (!res.ok) throw new Error(`GET /api/secure: ${res.status}`);
        const body = (await res.json()) as { message: string };
        return body.message;
      } catch (e) {
        if (isAuthdError(e) && e.code === "signed_out") return null; // the signedOut event shows the login screen
        throw e; // e.transient: offline or authd busy; the session is kept, try again later
      }
    },
  };
  client.on("tokens", () => (app.screen = "home"));
  client.on("signedOut", ({ reason }) => {
    app.screen = "login";
    if (reason === "reused") console.warn("this session was ended for safety; please sign in again");
  });
  return app;
}

/** React Native: refresh when the app returns to the foreground (browsers do this by themselves). */
export function onForeground(app: App): void {
  void app.client.resume();
}

/**
 * The sign-in screen. An account with a second factor answers the password
 * with MfaRequiredError: `askSecondFactor` shows the second screen (a code
 * of the authenticator app, a recovery code, or on the web
 * `{ credential: await passkeyAssertion(e.publicKey) }` for `webauthn`).
 */
export async function signIn(
  app: App,
  email: string,
  password: string,
  askSecondFactor?: (factors: string[]) => Promise<MfaAnswer>,
): Promise<void> {
  try {
    await app.client.login(email, password, "example device");
  } catch (e) {
    if (!(e instanceof MfaRequiredError) || !askSecondFactor) throw e;
    await app.client.completeMfaLogin(e.mfaToken, await askSecondFactor(e.factors));
  }
}
