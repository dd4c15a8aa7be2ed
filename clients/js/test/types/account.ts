// Type-level checks of the published declarations (dist/index.d.ts, as an
// app imports them): test/types.test.mjs compiles this with tsc, so a type
// that drifts from authd's JSON, or a helper's signature, fails the build
// of this file. Nothing here runs.
import {
  AuthdClient,
  type AccessTokenClaims,
  type IdTokenSignIn,
  type RegisteredUser,
  type Session,
  type SessionInfo,
  type TotpEnrolment,
  type UserInfo,
} from "@authd/client";

/** true when A and B are the same type (not merely assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expect<T extends true>(): T | void {}

// register() answers what POST /api/register does (account.rs UserResponse, without providers).
expect<Equal<ReturnType<AuthdClient["register"]>, Promise<RegisteredUser>>>();
expect<Equal<RegisteredUser, { id: string; email: string; created_at: string; email_verified: boolean }>>();

// GET /api/sessions lists dpop_bound (sessions.rs SessionView).
expect<Equal<SessionInfo["dpop_bound"], boolean>>();
expect<Equal<keyof SessionInfo, "id" | "created_at" | "last_used_at" | "expires_at" | "device" | "user_agent" | "ip" | "current" | "dpop_bound">>();

// GET /api/me.
expect<Equal<ReturnType<AuthdClient["me"]>, Promise<UserInfo>>>();
expect<Equal<UserInfo, { id: string; email: string | null; created_at: string; email_verified: boolean; providers: string[] }>>();

// The session: userId and the decoded claims.
expect<Equal<AuthdClient["session"], Session | null>>();
expect<Equal<Session["userId"], string>>();
expect<Equal<Session["claims"], AccessTokenClaims>>();
expect<Equal<AccessTokenClaims["sub"], string>>();
expect<Equal<AccessTokenClaims["sid"], string>>();
expect<Equal<AccessTokenClaims["amr"], string[]>>();
expect<Equal<AccessTokenClaims["acr"], string>>();
expect<Equal<AccessTokenClaims["email_verified"], boolean>>();
expect<Equal<AccessTokenClaims["exp"], number>>();

// The account helpers.
expect<Equal<Parameters<AuthdClient["verifyEmail"]>, [token: string]>>();
expect<Equal<Parameters<AuthdClient["resendVerification"]>, [email?: string]>>();
expect<Equal<Parameters<AuthdClient["forgotPassword"]>, [email: string]>>();
expect<Equal<Parameters<AuthdClient["resetPassword"]>, [token: string, newPassword: string]>>();
expect<Equal<Parameters<AuthdClient["changePassword"]>, [current: string | IdTokenSignIn, newPassword: string]>>();
expect<Equal<Parameters<AuthdClient["deleteAccount"]>, [proof: string | IdTokenSignIn]>>();
expect<Equal<ReturnType<AuthdClient["enrolTotp"]>, Promise<TotpEnrolment>>>();
expect<Equal<TotpEnrolment, { secret: string; otpauth_uri: string }>>();
expect<Equal<ReturnType<AuthdClient["confirmTotp"]>, Promise<string[]>>>();
for (const f of ["verifyEmail", "resendVerification", "forgotPassword", "resetPassword", "changePassword", "deleteAccount", "disableTotp"] as const) {
  expect<Equal<Awaited<ReturnType<AuthdClient[typeof f]>>, void>>();
}

// The client's state is not part of its type.
declare const client: AuthdClient;
// @ts-expect-error no such member
void client.keeper;
