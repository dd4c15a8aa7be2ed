// An OpenID provider on this machine, for trying sign-in with a provider by
// hand (the README's walk-through): discovery, keys, a sign-in page that
// signs in at once, and GET /mint?aud&sub&email&nonce for the ID token a
// phone's sign-in sheet would give.
//   node clients/js/scripts/dev-provider.mjs [port, default 9999]
import { startProvider } from "../test/helpers/provider.mjs";

const provider = await startProvider(Number(process.argv[2] ?? 9999));
provider.signsIn({ sub: "web-user-1", email: "ada@example.com", email_verified: true });
console.log(`OpenID provider at ${provider.issuer} (Ctrl-C to stop)`);
