//! authd's Redis key names, in one place. Each starts with
//! `AUTHD_REDIS_PREFIX` and holds a hash tag, so that every script touches
//! one Redis Cluster slot. Two kinds are the guard crate's, which resource
//! servers run without authd's code: a session's key (`session`, which
//! calls `authd_guard::session_key`) and a DPoP proof's (`replay_key`).
//! `docs/sessions.md` lists every kind, what it holds and for how long;
//! `tests/docs.rs` checks that list against the names built here.

use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct KeySchema {
    prefix: String,
}

impl KeySchema {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    fn user_tag(&self, user: Uuid) -> String {
        format!("{}{{u:{}}}", self.prefix, user.as_simple())
    }

    /// The guard crate reads this key too (resource servers on Redis).
    pub fn session(&self, user: Uuid, session: Uuid) -> String {
        authd_guard::session_key(&self.prefix, user, session)
    }

    /// What every session key of the user starts with.
    pub fn session_prefix(&self, user: Uuid) -> String {
        format!("{}:s:", self.user_tag(user))
    }

    pub fn index(&self, user: Uuid) -> String {
        format!("{}:sessions", self.user_tag(user))
    }

    pub fn credential(&self, user: Uuid) -> String {
        format!("{}:credential", self.user_tag(user))
    }

    pub fn tombstone(&self, user: Uuid, session: Uuid) -> String {
        format!("{}:reused:{}", self.user_tag(user), session.as_simple())
    }

    /// `account_digest`: URL-safe base64 of the SHA-256 of the normalized
    /// email (the email itself never reaches Redis).
    pub fn login_failures(&self, account_digest: &str) -> String {
        format!("{}{{login:{account_digest}}}", self.prefix)
    }

    /// `client`: an IPv4 address or an IPv6 /64.
    pub fn client_login_failures(&self, client: &str) -> String {
        format!("{}{{ip:{client}}}:login", self.prefix)
    }

    /// Reset mails asked for one address (`account_digest` as above).
    pub fn mail_requests(&self, account_digest: &str) -> String {
        format!("{}{{mail:{account_digest}}}", self.prefix)
    }

    pub fn client_mail_requests(&self, client: &str) -> String {
        format!("{}{{ip:{client}}}:mail", self.prefix)
    }

    /// What every key starts with (`AUTHD_REDIS_PREFIX`); DPoP proofs'
    /// keys (`<p>{dpop:…}`) are made from it by the guard crate.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The TOTP step a user's last accepted code was of.
    pub fn totp_step(&self, user: Uuid) -> String {
        format!("{}:totp", self.user_tag(user))
    }

    /// A login's second step, by the digest of its `mfa_token`.
    pub fn mfa_challenge(&self, token_digest: &str) -> String {
        format!("{}{{mfa:{token_digest}}}", self.prefix)
    }

    /// A WebAuthn ceremony's state, by its `challenge_id`.
    pub fn ceremony(&self, challenge_id: &str) -> String {
        format!("{}{{webauthn:{challenge_id}}}", self.prefix)
    }

    /// A passkey registration's ceremony, under its user's hash tag (so the
    /// user's pending ones are counted and replaced in one script).
    pub fn registration(&self, user: Uuid, challenge_id: &str) -> String {
        format!("{}:registration:{challenge_id}", self.user_tag(user))
    }

    /// What every registration ceremony key of the user starts with.
    pub fn registration_prefix(&self, user: Uuid) -> String {
        format!("{}:registration:", self.user_tag(user))
    }

    /// The user's pending registration ceremonies, newest first.
    pub fn registrations(&self, user: Uuid) -> String {
        format!("{}:registrations", self.user_tag(user))
    }

    /// Passkey registrations the user started.
    pub fn registration_starts(&self, user: Uuid) -> String {
        format!("{}:registration_starts", self.user_tag(user))
    }

    /// Passkey logins a client started.
    pub fn client_ceremonies(&self, client: &str) -> String {
        format!("{}{{ip:{client}}}:webauthn", self.prefix)
    }

    pub fn client_registrations(&self, client: &str) -> String {
        format!("{}{{ip:{client}}}:register", self.prefix)
    }

    /// A web flow waiting for the provider's callback, by the digest of
    /// authd's `state`.
    pub fn oauth_state(&self, digest: &str) -> String {
        format!("{}{{oauth_state:{digest}}}", self.prefix)
    }

    /// The one-use code handed to the app, by its digest.
    pub fn oauth_code(&self, digest: &str) -> String {
        format!("{}{{oauth_code:{digest}}}", self.prefix)
    }

    /// An ID token's nonce, by the SHA-256 hex its token carries.
    pub fn id_token_nonce(&self, digest: &str) -> String {
        format!("{}{{oidc_nonce:{digest}}}", self.prefix)
    }
}

/// The acknowledgement key of a call whose first key is `first`: the same
/// hash tag, `:ack`.
pub fn ack_key(first: &[u8]) -> Vec<u8> {
    let tag_end = first.iter().position(|&b| b == b'}').map_or(0, |i| i + 1);
    [&first[..tag_end], b":ack"].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_user_shares_its_hash_tag() {
        let keys = KeySchema::new("p:");
        let (user, session) = (Uuid::nil(), Uuid::max());
        let tag = "p:{u:00000000000000000000000000000000}";
        for key in [
            keys.session(user, session),
            keys.index(user),
            keys.credential(user),
            keys.tombstone(user, session),
            keys.registration(user, "c"),
            keys.registrations(user),
            keys.registration_starts(user),
        ] {
            assert!(key.starts_with(tag), "{key}");
        }
        assert_eq!(
            ack_key(keys.index(user).as_bytes()),
            format!("{tag}:ack").into_bytes()
        );
        assert_eq!(
            keys.client_login_failures("192.0.2.1"),
            "p:{ip:192.0.2.1}:login"
        );
    }
}
