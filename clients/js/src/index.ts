export { AuthdClient, createAuthdClient, type AuthdClientOptions, type MfaAnswer } from "./client.js";
export {
  AuthdError,
  MfaRequiredError,
  isAuthdError,
  type MfaFactor,
  type AuthdErrorCode,
  type AuthdServerErrorCode,
  type AuthdClientErrorCode,
  type AuthdErrorInit,
  type InvalidGrantReason,
} from "./errors.js";
export type { AuthdEvents, SignedOutReason, Listener } from "./events.js";
export type { FetchLike } from "./http.js";
export { MemoryKeyStore, memoryKeyStore, indexedDbKeyStore, type DpopKeyStore } from "./dpop.js";
export {
  MemoryStorage,
  memoryStorage,
  localStorageStorage,
  type TokenStorage,
  type StoredTokens,
  type InflightRefresh,
} from "./storage.js";
export type { TokenResponse, SessionInfo, Session, AccessTokenClaims } from "./tokens.js";
export type { RegisteredUser, UserInfo, TotpEnrolment } from "./account.js";
export {
  passkeyAssertion,
  passkeyRequestOptions,
  passkeyCredentialJson,
  type PasskeyRequestOptionsJson,
  type PasskeyCredentialJson,
  type PasskeyAssertionLike,
  type CredentialsLike,
} from "./passkey.js";
export { createNonce, type IdTokenSignIn, type LinkedIdentity } from "./providers.js";
