//! Every change to a session is one Lua script, one round trip, atomic on
//! the Redis node that holds the user's hash tag.

use std::time::Duration;

use authd_guard::{Amr, Thumbprint};
use deadpool_redis::redis;
use uuid::Uuid;

use super::library::library;
use super::outcomes::{
    Created, CurrentRefresh, EndByToken, IssuedRefresh, RotateOutcome, SessionInfo, SessionMeta,
};
use super::refresh_token::{new_nonce, RefreshToken};
use super::replies::{amr_arg, key_arg, millis, stored_amr, text, unix_secs};
use super::settings::SessionSettings;
use crate::common::telemetry::{self, Ended};
use crate::connections::{Call, Durability, Function, KeySchema, Liveness, Redis, StoreError};

/// The credential version of a deleted account: above any real one (each
/// password change adds 1), and still exact as a Lua number (2^53 - 1).
const DELETED_CREDENTIAL: i64 = 9_007_199_254_740_991;
/// How long the marker of a deleted account fences off in-flight logins.
const DELETION_FENCE_MS: u64 = 300_000;

pub struct SessionStore {
    redis: Redis,
    /// Liveness answers the guard may take from memory (the guard crate's
    /// `liveness`); every change here `sync`s it.
    liveness: Liveness,
    keys: KeySchema,
    max_age_ms: u64,
    /// `AUTHD_MAX_SESSIONS_PER_USER`: the most sessions a user holds, and
    /// the most any one script touches.
    max_per_user: u32,
    /// `AUTHD_REDIS_MIN_REPLICAS` ≥ 1: every change waits for replicas.
    durability: Option<Durability>,
    create: Function,
    rotate: Function,
    revoke: Function,
    revoke_all: Function,
    list: Function,
    inspect: Function,
    mark_verified: Function,
}

impl SessionStore {
    pub fn new(redis: Redis, liveness: Liveness, prefix: &str, settings: &SessionSettings) -> Self {
        let library = library(
            settings.refresh_token_ttl.as_millis() as u64,
            settings.reuse_grace.as_millis() as u64,
        );
        Self {
            redis,
            liveness,
            max_per_user: settings.max_per_user,
            durability: None,
            keys: KeySchema::new(prefix),
            max_age_ms: settings.max_age.as_millis() as u64,
            create: library.function("create"),
            rotate: library.function("rotate"),
            revoke: library.function("revoke"),
            revoke_all: library.function("revoke_all"),
            list: library.function("list"),
            inspect: library.function("inspect"),
            mark_verified: library.function("mark_verified"),
        }
    }

    /// Every change of session state acknowledged by this many replicas.
    pub fn with_durability(mut self, durability: Option<Durability>) -> Self {
        self.durability = durability;
        self
    }

    /// Starts a session for `user` whose login verified the password of
    /// `credential_version`, and returns its first refresh token. At the
    /// cap, the user's least recently used session ends. With `key`, the
    /// session is bound to that DPoP key; `amr`: how the login
    /// authenticated, carried by every access token of the session.
    pub async fn create(
        &self,
        user: Uuid,
        meta: &SessionMeta,
        credential_version: i64,
        email_verified: bool,
        key: Option<Thumbprint>,
        amr: Amr,
    ) -> Result<Created, StoreError> {
        let token = RefreshToken::generate(user);
        let mut call = Call::new(&self.create);
        call.key(self.keys.session(user, token.session_id))
            .key(self.keys.index(user))
            .key(self.keys.credential(user))
            .arg(token.session_id.as_simple().to_string())
            .arg(&token.family_hash()[..])
            .arg(&token.secret_hash()[..])
            .arg(self.max_age_ms)
            .arg(meta.device.as_deref().unwrap_or_default())
            .arg(meta.user_agent.as_deref().unwrap_or_default())
            .arg(meta.ip.map(|ip| ip.to_string()).unwrap_or_default())
            .arg(credential_version)
            .arg(self.keys.session_prefix(user))
            .arg(self.max_per_user)
            .arg(if email_verified { "1" } else { "" })
            .arg(key_arg(key))
            .arg(amr_arg(amr));
        let reply: Vec<redis::Value> = match self.change(&call).await {
            Ok(reply) => reply,
            Err(e) => {
                // The reply was lost; the cap may have ended a session.
                self.liveness.sync().await;
                return Err(e);
            }
        };
        match reply.as_slice() {
            [status, ttl, end, evicted] if text(status) == Some("created") => {
                if let redis::Value::Int(n @ 1..) = evicted {
                    telemetry::sessions_ended(Ended::Evicted, *n as u64);
                    self.liveness.sync().await;
                }
                Ok(Created::Session(IssuedRefresh {
                    token,
                    expires_in: millis(ttl)?,
                    session_end: unix_secs(end)?,
                    email_verified,
                    amr,
                }))
            }
            [status] if text(status) == Some("stale") => Ok(Created::Stale),
            [status] if text(status) == Some("lagging") => Ok(Created::Lagging),
            _ => Err(StoreError::RedisReply(format!("create: {reply:?}"))),
        }
    }

    /// Checks `presented` and rotates it, in one atomic step. `key`: the
    /// DPoP key the request proved; a bound session needs its own, and an
    /// unbound one is bound to it.
    pub async fn rotate(
        &self,
        presented: &RefreshToken,
        key: Option<Thumbprint>,
    ) -> Result<RotateOutcome, StoreError> {
        let (user, session) = (presented.user_id, presented.session_id);
        let nonce = new_nonce();
        let successor = presented.successor(&nonce);
        let mut call = Call::new(&self.rotate);
        call.key(self.keys.session(user, session))
            .key(self.keys.index(user))
            .key(self.keys.tombstone(user, session))
            .arg(session.as_simple().to_string())
            .arg(&presented.family_hash()[..])
            .arg(&presented.secret_hash()[..])
            .arg(&nonce[..])
            .arg(&successor.secret_hash()[..])
            .arg(key_arg(key));
        // An unknown, ended or forged token changes nothing: answering
        // `invalid` needs no replica (it would fail closed anyway).
        let invalid = |reply: &redis::Value| matches!(reply, redis::Value::Array(r) if r.len() == 1 && text(&r[0]) == Some("invalid"));
        let reply: Vec<redis::Value> = call.run(&self.redis, self.durability, invalid).await?;
        let outcome = match reply.as_slice() {
            [status, ttl, end, verified, amr] if text(status) == Some("rotated") => {
                RotateOutcome::Rotated(IssuedRefresh {
                    token: successor,
                    expires_in: millis(ttl)?,
                    session_end: unix_secs(end)?,
                    email_verified: matches!(verified, redis::Value::Int(1)),
                    amr: stored_amr(amr),
                })
            }
            [status, stored_nonce, ttl, end, verified, amr] if text(status) == Some("grace") => {
                let redis::Value::BulkString(stored_nonce) = stored_nonce else {
                    return Err(StoreError::RedisReply("grace without a nonce".into()));
                };
                RotateOutcome::Grace(IssuedRefresh {
                    token: presented.successor(stored_nonce),
                    expires_in: millis(ttl)?,
                    session_end: unix_secs(end)?,
                    email_verified: matches!(verified, redis::Value::Int(1)),
                    amr: stored_amr(amr),
                })
            }
            [status] if text(status) == Some("reused") => {
                telemetry::sessions_ended(Ended::Reused, 1);
                self.liveness.sync().await;
                RotateOutcome::Reused
            }
            [status] if text(status) == Some("invalid") => RotateOutcome::Invalid,
            [status] if text(status) == Some("wrong_key") => RotateOutcome::WrongKey,
            _ => return Err(StoreError::RedisReply(format!("rotate: {reply:?}"))),
        };
        Ok(outcome)
    }

    /// Ends one session, for `reason`; returns whether a session ended.
    pub async fn end(&self, user: Uuid, session: Uuid, reason: Ended) -> Result<bool, StoreError> {
        let ended = self.end_one(user, session, None, None, reason).await?;
        Ok(ended > 0)
    }

    /// Ends the session of `token` if the token belongs to it (logout or
    /// revocation by refresh token) and, when the session is bound to a
    /// DPoP key, the request proved that `key`.
    pub async fn end_by_token(
        &self,
        token: &RefreshToken,
        key: Option<Thumbprint>,
        reason: Ended,
    ) -> Result<EndByToken, StoreError> {
        let ended = self
            .end_one(token.user_id, token.session_id, Some(token), key, reason)
            .await?;
        Ok(match ended {
            -1 => EndByToken::WrongKey,
            n => EndByToken::Done(n > 0),
        })
    }

    async fn end_one(
        &self,
        user: Uuid,
        session: Uuid,
        family_of: Option<&RefreshToken>,
        key: Option<Thumbprint>,
        reason: Ended,
    ) -> Result<i64, StoreError> {
        let family = family_of.map(RefreshToken::family_hash);
        let mut call = Call::new(&self.revoke);
        call.key(self.keys.session(user, session))
            .key(self.keys.index(user))
            .arg(session.as_simple().to_string())
            .arg(family.as_ref().map_or(&[][..], |h| &h[..]))
            .arg(key_arg(key));
        let ended: Result<i64, _> = self.change(&call).await;
        // Even if the reply was lost: the session may have ended.
        self.liveness.sync().await;
        let ended = ended?;
        telemetry::sessions_ended(reason, ended.max(0) as u64);
        Ok(ended)
    }

    /// Ends every session of `user` except `keep`; returns how many ended.
    /// With `new_credential` (the version a password change produced), also
    /// fences off logins still being checked against an older password.
    /// Each call of the script ends at most `AUTHD_MAX_SESSIONS_PER_USER`
    /// sessions; it is repeated while some remain.
    pub async fn end_all(
        &self,
        user: Uuid,
        keep: Option<Uuid>,
        new_credential: Option<i64>,
    ) -> Result<u64, StoreError> {
        let reason = if new_credential.is_some() {
            Ended::PasswordChange
        } else {
            Ended::LogoutAll
        };
        // The marker must never be behind a live session: it lives as long
        // as the longest one can.
        let fence = new_credential.map(|version| (version, self.max_age_ms));
        self.end_many(user, keep, fence, reason).await
    }

    /// Ends every session of a user whose account is being deleted, and
    /// fences off logins still in flight for it: the credential marker goes
    /// above any real version, for `DELETION_FENCE_MS` (far longer than a
    /// login can take; the account is gone by then, so no login can start).
    pub async fn end_for_deletion(&self, user: Uuid) -> Result<u64, StoreError> {
        let fence = Some((DELETED_CREDENTIAL, DELETION_FENCE_MS));
        self.end_many(user, None, fence, Ended::AccountDeleted)
            .await
    }

    async fn end_many(
        &self,
        user: Uuid,
        keep: Option<Uuid>,
        fence: Option<(i64, u64)>,
        reason: Ended,
    ) -> Result<u64, StoreError> {
        let mut call = Call::new(&self.revoke_all);
        call.key(self.keys.index(user))
            .key(self.keys.credential(user))
            .arg(self.keys.session_prefix(user))
            .arg(keep.map(|k| k.as_simple().to_string()).unwrap_or_default())
            .arg(fence.map(|(v, _)| v.to_string()).unwrap_or_default())
            .arg(fence.map_or(self.max_age_ms, |(_, ms)| ms))
            .arg(self.max_per_user);
        let mut total = 0;
        let outcome = loop {
            // Each call removes at least one index entry while any remain
            // (but `keep`), so this ends.
            match self.change::<(u64, i64, i64)>(&call).await {
                Ok((ended, remaining, removed)) => {
                    telemetry::sessions_ended(reason, ended);
                    total += ended;
                    if remaining <= 0 || removed == 0 {
                        break Ok(total);
                    }
                }
                Err(e) => break Err(e),
            }
        };
        // Even after a failure: earlier calls (or a lost reply) ended some.
        self.liveness.sync().await;
        outcome
    }

    /// The user's live sessions (at most `AUTHD_MAX_SESSIONS_PER_USER`), in
    /// no particular order.
    pub async fn list(&self, user: Uuid) -> Result<Vec<SessionInfo>, StoreError> {
        let mut call = Call::new(&self.list);
        call.key(self.keys.index(user))
            .arg(self.keys.session_prefix(user))
            .arg(self.max_per_user);
        type Row = (String, i64, i64, f64, String, String, String, String);
        let rows: Vec<Row> = self.invoke(&call).await?;
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        Ok(rows
            .into_iter()
            .filter_map(
                |(id, created, used, expires, device, user_agent, ip, bound)| {
                    Some(SessionInfo {
                        id: Uuid::parse_str(&id).ok()?,
                        created_ms: created,
                        last_used_ms: used,
                        expires_ms: expires as i64,
                        device: non_empty(device),
                        user_agent: non_empty(user_agent),
                        ip: non_empty(ip),
                        dpop_bound: !bound.is_empty(),
                    })
                },
            )
            .collect())
    }

    /// Whether `token` is the current refresh token of a live session,
    /// changing nothing (introspection).
    pub async fn inspect(
        &self,
        token: &RefreshToken,
    ) -> Result<Option<CurrentRefresh>, StoreError> {
        let mut call = Call::new(&self.inspect);
        call.key(self.keys.session(token.user_id, token.session_id))
            .arg(&token.family_hash()[..])
            .arg(&token.secret_hash()[..]);
        let reply: Vec<i64> = self.invoke(&call).await?;
        Ok(match reply.as_slice() {
            [ttl, issued, verified] if *ttl > 0 => Some(CurrentRefresh {
                expires_in: Duration::from_millis(*ttl as u64),
                issued_at_ms: *issued,
                email_verified: *verified == 1,
            }),
            _ => None,
        })
    }

    /// Marks the user's live sessions verified (their next access tokens
    /// say `email_verified: true`); returns how many.
    pub async fn mark_verified(&self, user: Uuid) -> Result<u64, StoreError> {
        let mut call = Call::new(&self.mark_verified);
        call.key(self.keys.index(user))
            .arg(self.keys.session_prefix(user))
            .arg(self.max_per_user);
        self.change(&call).await
    }

    /// The newest credential version Redis knows for `user` (0 for none).
    pub async fn credential_marker(&self, user: Uuid) -> Result<i64, StoreError> {
        let key = self.keys.credential(user);
        let key = &key;
        let marker: Option<String> = self
            .redis
            .run(|mut conn| async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            })
            .await?;
        Ok(marker.and_then(|m| m.parse().ok()).unwrap_or(0))
    }

    /// Whether the session is still live: what the guard asks in `session`
    /// mode. From memory while Redis tracks the key for this instance, else
    /// one `EXISTS`.
    pub async fn is_live(&self, user: Uuid, session: Uuid) -> Result<bool, StoreError> {
        let key = self.keys.session(user, session);
        let read = &key;
        let fallback = self.redis.run(|mut conn| async move {
            redis::cmd("EXISTS")
                .arg(read)
                .query_async::<bool>(&mut conn)
                .await
        });
        self.liveness.exists(&key, fallback).await
    }

    /// A script that only reads.
    async fn invoke<T: redis::FromRedisValue>(&self, call: &Call<'_>) -> Result<T, StoreError> {
        call.run(&self.redis, None, |_| true).await
    }

    /// A script that may change session state: acknowledged by
    /// `AUTHD_REDIS_MIN_REPLICAS` replicas before it counts (see `call`).
    async fn change<T: redis::FromRedisValue>(&self, call: &Call<'_>) -> Result<T, StoreError> {
        call.run(&self.redis, self.durability, |_| false).await
    }
}
