//! DPoP proofs (RFC 9449): a JWT the client signs with its own key for
//! each request, so a token bound to that key is worthless to whoever
//! copies it. This module checks one proof as §4.3 lists it: `typ`
//! `dpop+jwt`, an asymmetric `alg` matching a public `jwk` in the header,
//! the signature, `htm`, `htu` (normalised), `iat` in its window, `jti`
//! present, and `ath` when an access token comes with it. What needs state
//! is the caller's: `jti` single use ([`replay_key`]). Server nonces
//! ([`Nonces`], RFC 9449 §8 and §9) are stateless: an HMAC of a 60-second
//! window, so every instance with the key makes and accepts the same ones.
//! Does no I/O.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::{crypto, Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use futures_util::future::BoxFuture;

use crate::unavailable::Unavailable;

/// §4.2: the `typ` of a proof.
pub const PROOF_TYPE: &str = "dpop+jwt";
/// Proofs longer than this are refused before any parsing (an EC P-384
/// proof with `ath` and a nonce is under 1 KiB).
pub const MAX_PROOF_BYTES: usize = 4 * 1024;
/// `dpop_signing_alg_values_supported`: asymmetric only (§4.2: never
/// `none` or a MAC). `Ed25519` is RFC 9864's fully specified name for
/// `EdDSA` with an Ed25519 key, which it deprecates; both are taken.
pub const SIGNING_ALGORITHMS: [&str; 4] = ["ES256", "ES384", "EdDSA", "Ed25519"];
/// Longest `jti` accepted (it is hashed before it is stored).
const MAX_JTI_BYTES: usize = 256;

/// The RFC 7638 SHA-256 thumbprint of a public key: what a bound token's
/// `cnf.jkt` holds (base64url) and a session remembers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbprint(pub [u8; 32]);

impl Thumbprint {
    pub fn to_base64(self) -> String {
        B64.encode(self.0)
    }

    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = B64.decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({})", self.to_base64())
    }
}

/// What a proof must match besides its own signature.
pub struct Expected<'a> {
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The request's URI, as [`normalise_uri`] gives it (`htu`).
    pub uri: &'a str,
    /// The access token sent with the proof, whose hash `ath` must be.
    pub access_token: Option<&'a str>,
}

/// How old or how far ahead a proof's `iat` may be.
#[derive(Clone, Copy, Debug)]
pub struct ProofRules {
    pub max_age: Duration,
    pub future_skew: Duration,
}

impl ProofRules {
    /// How long a `jti` must be remembered: as long as its proof could be
    /// accepted.
    pub fn replay_window(&self) -> Duration {
        self.max_age + self.future_skew
    }
}

/// A proof that checked out.
#[derive(Debug, Clone)]
pub struct Proof {
    pub thumbprint: Thumbprint,
    /// SHA-256 of `jti`: what is stored for single use.
    pub jti_hash: [u8; 32],
    pub nonce: Option<String>,
}

/// Why a proof was refused. The description is sent to the client (it
/// names the rule, never echoes the proof).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    Missing,
    Multiple,
    TooLarge,
    Malformed,
    WrongType,
    Algorithm,
    PrivateKey,
    Key,
    Signature,
    Method,
    Uri,
    Stale,
    Future,
    AccessTokenHash,
    Replayed,
    WrongKey,
}

impl ProofError {
    pub fn description(self) -> &'static str {
        match self {
            Self::Missing => "a DPoP proof is required",
            Self::Multiple => "more than one DPoP header",
            Self::TooLarge => "the DPoP proof is too large",
            Self::Malformed => "the DPoP proof is not a well-formed JWT with jti, htm, htu and iat",
            Self::WrongType => "the DPoP proof's typ must be dpop+jwt",
            Self::Algorithm => {
                "the DPoP proof's alg must be ES256, ES384, EdDSA or Ed25519, matching its jwk"
            }
            Self::PrivateKey => "the DPoP proof's jwk must be a public key",
            Self::Key => "the DPoP proof's jwk is not a usable public key",
            Self::Signature => "the DPoP proof's signature does not verify",
            Self::Method => "the DPoP proof's htm is not this request's method",
            Self::Uri => "the DPoP proof's htu is not this request's URI",
            Self::Stale => "the DPoP proof's iat is too old",
            Self::Future => "the DPoP proof's iat is in the future",
            Self::AccessTokenHash => "the DPoP proof's ath is not the hash of the access token",
            Self::Replayed => "the DPoP proof was used before (jti)",
            Self::WrongKey => "the DPoP proof is not signed by the key the token is bound to",
        }
    }
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The members a JWK holds only when it is a private (or secret) key.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Checks `proof` against `expected` at `now` (unix seconds).
pub fn check(
    proof: &str,
    expected: &Expected<'_>,
    rules: &ProofRules,
    now: u64,
) -> Result<Proof, ProofError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(ProofError::TooLarge);
    }
    // Parsed and verified here rather than by jsonwebtoken's `decode`, whose
    // header type knows no `Ed25519` (RFC 9864).
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    let header: Map<String, Value> = B64
        .decode(header_b64)
        .ok()
        .and_then(|bytes: Vec<u8>| serde_json::from_slice(&bytes).ok())
        .ok_or(ProofError::Malformed)?;
    if header.get("typ").and_then(Value::as_str) != Some(PROOF_TYPE) {
        return Err(ProofError::WrongType);
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => Algorithm::ES256,
        Some("ES384") => Algorithm::ES384,
        Some("EdDSA" | "Ed25519") => Algorithm::EdDSA,
        _ => return Err(ProofError::Algorithm),
    };
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(ProofError::Key)?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(ProofError::PrivateKey);
    }
    let (key, thumbprint) = public_key(jwk, alg)?;
    let signed = &proof[..header_b64.len() + 1 + payload_b64.len()];
    match crypto::verify(signature, signed.as_bytes(), &key, alg) {
        Ok(true) => {}
        Ok(false) => return Err(ProofError::Signature),
        Err(_) => return Err(ProofError::Malformed),
    }
    let claims: ProofClaims = B64
        .decode(payload_b64)
        .ok()
        .and_then(|bytes: Vec<u8>| serde_json::from_slice(&bytes).ok())
        .ok_or(ProofError::Malformed)?;
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_BYTES {
        return Err(ProofError::Malformed);
    }
    if claims.htm != expected.method {
        return Err(ProofError::Method);
    }
    if normalise_uri(&claims.htu).as_deref() != Some(expected.uri) {
        return Err(ProofError::Uri);
    }
    if claims.iat.saturating_add(rules.max_age.as_secs()) < now {
        return Err(ProofError::Stale);
    }
    if claims.iat > now.saturating_add(rules.future_skew.as_secs()) {
        return Err(ProofError::Future);
    }
    match (expected.access_token, claims.ath.as_deref()) {
        (None, _) => {}
        (Some(token), Some(ath)) if ath == access_token_hash(token) => {}
        (Some(_), _) => return Err(ProofError::AccessTokenHash),
    }
    Ok(Proof {
        thumbprint,
        jti_hash: Sha256::digest(claims.jti.as_bytes()).into(),
        nonce: claims.nonce,
    })
}

/// `ath`: base64url of the SHA-256 of the access token (§4.2).
pub fn access_token_hash(token: &str) -> String {
    B64.encode(Sha256::digest(token.as_bytes()))
}

/// The key a `jwk` describes, for `alg`, and its RFC 7638 thumbprint (the
/// required members, sorted, no whitespace, hashed with SHA-256).
fn public_key(
    jwk: &Map<String, Value>,
    alg: Algorithm,
) -> Result<(DecodingKey, Thumbprint), ProofError> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).ok_or(ProofError::Key);
    let coordinate = |name: &str, len: usize| {
        let text = member(name)?;
        match B64.decode(text) {
            Ok(bytes) if bytes.len() == len => Ok(text),
            _ => Err(ProofError::Key),
        }
    };
    let kty = member("kty")?;
    let crv = member("crv")?;
    let (canonical, key) = match (alg, kty, crv) {
        (Algorithm::ES256, "EC", "P-256") | (Algorithm::ES384, "EC", "P-384") => {
            let len = if crv == "P-256" { 32 } else { 48 };
            let (x, y) = (coordinate("x", len)?, coordinate("y", len)?);
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| ProofError::Key)?;
            (
                format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#),
                key,
            )
        }
        (Algorithm::EdDSA, "OKP", "Ed25519") => {
            let x = coordinate("x", 32)?;
            let key = DecodingKey::from_ed_components(x).map_err(|_| ProofError::Key)?;
            (format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#), key)
        }
        _ => return Err(ProofError::Algorithm),
    };
    Ok((key, Thumbprint(Sha256::digest(canonical.as_bytes()).into())))
}

/// A URI as `htu` is compared (§4.3 point 9, RFC 3986 §6.2.2 and §6.2.3):
/// scheme and host lower-cased, the scheme's default port dropped, dot
/// segments resolved, an empty path as `/`, query and fragment removed.
/// `None` for anything but an absolute http(s) URI.
pub fn normalise_uri(uri: &str) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.into())
}

/// The time nonces are made and checked at (unix seconds).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How long one nonce window lasts.
pub const NONCE_WINDOW_SECS: u64 = 60;

/// Stateless server nonces: the current window's, or the previous one's,
/// is accepted (a nonce lives 60 to 120 seconds).
pub struct Nonces {
    key: [u8; 32],
}

/// The key never shows.
impl fmt::Debug for Nonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonces")
    }
}

impl Nonces {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Nonces keyed from a secret shared by every instance of a resource
    /// server (`AUTHD_GUARD_DPOP_NONCE_SECRET`).
    pub fn from_secret(secret: &[u8]) -> Self {
        Self::new(
            Sha256::new()
                .chain_update(b"authd-guard dpop nonce v1\0")
                .chain_update(secret)
                .finalize()
                .into(),
        )
    }

    fn for_window(&self, window: u64) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(&window.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        let mut nonce = [0u8; 24];
        nonce[..8].copy_from_slice(&window.to_be_bytes());
        nonce[8..].copy_from_slice(&tag[..16]);
        B64.encode(nonce)
    }

    /// The nonce to hand out at `now` (unix seconds).
    pub fn current(&self, now: u64) -> String {
        self.for_window(now / NONCE_WINDOW_SECS)
    }

    /// Whether `nonce` is this window's or the previous one's.
    pub fn accepts(&self, nonce: &str, now: u64) -> bool {
        let window = now / NONCE_WINDOW_SECS;
        [window, window.saturating_sub(1)]
            .iter()
            .any(|w| constant_time_eq(self.for_window(*w).as_bytes(), nonce.as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where a proof's `jti` is remembered for single use.
pub trait ProofReplay: Send + Sync {
    /// Records `proof`'s `jti` for `window`; false when it was recorded
    /// before (a replay).
    fn first_use<'a>(
        &'a self,
        proof: &'a Proof,
        window: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>>;
}

/// `jti`s remembered in this process only: single use per instance, not
/// across instances (authd's own guard and a resource server on authd's
/// Redis use Redis instead). Bounded: past `entries` the oldest go, and a
/// proof evicted that early could be replayed inside its `iat` window.
pub struct MemoryReplay {
    seen: quick_cache::sync::Cache<[u8; 64], ()>,
}

impl MemoryReplay {
    pub fn new(entries: usize) -> Self {
        Self {
            seen: quick_cache::sync::Cache::new(entries.max(1)),
        }
    }
}

impl ProofReplay for MemoryReplay {
    fn first_use<'a>(
        &'a self,
        proof: &'a Proof,
        _window: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&proof.thumbprint.0);
        key[32..].copy_from_slice(&proof.jti_hash);
        let mut inserted = false;
        let _ = self.seen.get_or_insert_with(&key, || {
            inserted = true;
            Ok::<_, Infallible>(())
        });
        Box::pin(async move { Ok(inserted) })
    }
}

/// How a guard checks DPoP-bound tokens.
#[derive(Clone)]
pub struct DpopPolicy {
    pub rules: ProofRules,
    /// The URL the service is reached at (behind a proxy, what clients
    /// see): `htu` is this plus the request's path. Without it, the
    /// request's `Host` and the listener's scheme.
    pub public_base: Option<String>,
    pub replay: Arc<dyn ProofReplay>,
    /// Proofs must carry one of these server nonces (RFC 9449 §9): a proof
    /// without is answered 401 `use_dpop_nonce` with a `DPoP-Nonce`.
    pub nonces: Option<Arc<Nonces>>,
}

impl Default for DpopPolicy {
    fn default() -> Self {
        Self {
            rules: ProofRules {
                max_age: Duration::from_secs(300),
                future_skew: Duration::from_secs(5),
            },
            public_base: None,
            replay: Arc::new(MemoryReplay::new(100_000)),
            nonces: None,
        }
    }
}

/// A `jti`'s single-use key in Redis, under the key's hash tag (one slot
/// per client key in a cluster): `<prefix>{dpop:<jkt>}:<jti hash>`.
pub fn replay_key(prefix: &str, proof: &Proof) -> String {
    format!(
        "{prefix}{{dpop:{}}}:{}",
        proof.thumbprint.to_base64(),
        B64.encode(&proof.jti_hash[..16])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7638_example_key_has_the_rfc_thumbprint() {
        // RFC 7638 §3.1 is an RSA key; RFC 8037 §A.3 gives an Ed25519 one.
        let jwk: Map<String, Value> = serde_json::from_str(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap();
        let (_, thumbprint) = public_key(&jwk, Algorithm::EdDSA).unwrap();
        assert_eq!(
            thumbprint.to_base64(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn a_nonce_lives_for_its_window_and_the_next_and_is_keyed() {
        let nonces = Nonces::new([7; 32]);
        let now = 1_800_000_000;
        let nonce = nonces.current(now);
        assert!(nonces.accepts(&nonce, now));
        assert!(nonces.accepts(&nonce, now + NONCE_WINDOW_SECS));
        assert!(!nonces.accepts(&nonce, now + 2 * NONCE_WINDOW_SECS));
        assert!(!Nonces::new([8; 32]).accepts(&nonce, now));
        assert!(!nonces.accepts("", now));
        let shared = Nonces::from_secret(b"a secret every instance shares");
        assert!(Nonces::from_secret(b"a secret every instance shares")
            .accepts(&shared.current(now), now));
    }

    #[test]
    fn uris_compare_after_normalisation() {
        let same = [
            "https://Auth.Example.COM:443/api/token?x=1#f",
            "HTTPS://auth.example.com/api/./token",
            "https://auth.example.com/api/x/../token",
        ];
        for uri in same {
            assert_eq!(
                normalise_uri(uri).as_deref(),
                Some("https://auth.example.com/api/token"),
                "{uri}"
            );
        }
        assert_eq!(
            normalise_uri("http://h:8080").as_deref(),
            Some("http://h:8080/")
        );
        assert_ne!(
            normalise_uri("http://h:8080/api/token"),
            normalise_uri("http://h:8081/api/token")
        );
        assert_eq!(normalise_uri("ftp://h/x"), None);
        assert_eq!(normalise_uri("/api/token"), None);
    }

    #[test]
    fn private_members_and_wrong_curves_are_refused_before_any_signature_check() {
        let with = |header: &str| {
            let token = format!("{}.e30.AAAA", B64.encode(header));
            check(
                &token,
                &Expected {
                    method: "POST",
                    uri: "http://h/",
                    access_token: None,
                },
                &ProofRules {
                    max_age: Duration::from_secs(300),
                    future_skew: Duration::from_secs(5),
                },
                1,
            )
            .map(|_| ())
        };
        let x = B64.encode([7u8; 32]);
        assert_eq!(
            with(&format!(
                r#"{{"typ":"dpop+jwt","alg":"EdDSA","jwk":{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{x}"}}}}"#
            )),
            Err(ProofError::PrivateKey)
        );
        assert_eq!(
            with(&format!(
                r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}}}"#
            )),
            Err(ProofError::Algorithm)
        );
        assert_eq!(
            with(r#"{"typ":"dpop+jwt","alg":"none","jwk":{}}"#),
            Err(ProofError::Algorithm)
        );
        assert_eq!(
            with(r#"{"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"oct","k":"c2VjcmV0"}}"#),
            Err(ProofError::Algorithm)
        );
        assert_eq!(
            with(&format!(
                r#"{{"typ":"JWT","alg":"EdDSA","jwk":{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}}}"#
            )),
            Err(ProofError::WrongType)
        );
        assert_eq!(with("not json"), Err(ProofError::Malformed));
        assert_eq!(
            check(
                &"a".repeat(MAX_PROOF_BYTES + 1),
                &Expected {
                    method: "POST",
                    uri: "http://h/",
                    access_token: None
                },
                &ProofRules {
                    max_age: Duration::from_secs(300),
                    future_skew: Duration::from_secs(5)
                },
                1
            )
            .map(|_| ()),
            Err(ProofError::TooLarge)
        );
    }
}
