//! Who may call introspection: resource servers holding one of
//! `AUTHD_INTROSPECTION_SECRETS`, presented as a Bearer token.

use sha2::{Digest, Sha256};

use crate::common::Secret;

/// SHA-256 of each configured secret; the secrets themselves are not kept.
pub struct IntrospectionCallers(Vec<[u8; 32]>);

impl IntrospectionCallers {
    /// `None` when no secret is configured: introspection is off.
    pub fn new(secrets: &[Secret]) -> Option<Self> {
        let digests: Vec<[u8; 32]> = secrets
            .iter()
            .map(|s| Sha256::digest(s.expose().as_bytes()).into())
            .collect();
        (!digests.is_empty()).then_some(Self(digests))
    }

    /// Whether `presented` is one of the secrets. Compares digests of equal
    /// length, every byte of every one, so the time says nothing of how
    /// much of a guess was right.
    pub fn admits(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut any = 0u8;
        for known in &self.0 {
            let diff = known
                .iter()
                .zip(digest.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            any |= u8::from(diff == 0);
        }
        std::hint::black_box(any) == 1
    }
}

/// Who may call the admin API: operators holding one of
/// `AUTHD_ADMIN_SECRETS`, each known by its label (the log names it).
pub struct AdminCallers(Vec<(String, [u8; 32])>);

impl AdminCallers {
    /// `None` when no secret is configured: the admin API is off.
    pub fn new(secrets: &[(String, Secret)]) -> Option<Self> {
        let entries: Vec<(String, [u8; 32])> = secrets
            .iter()
            .map(|(label, s)| (label.clone(), Sha256::digest(s.expose().as_bytes()).into()))
            .collect();
        (!entries.is_empty()).then_some(Self(entries))
    }

    /// The label of the secret `presented` is, comparing every digest in
    /// full whatever matches.
    pub fn admits(&self, presented: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for (label, known) in &self.0 {
            let diff = known
                .iter()
                .zip(digest.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if std::hint::black_box(diff) == 0 {
                found = Some(label.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_secret_is_admitted() {
        let a = "a".repeat(32);
        let b = "b".repeat(40);
        let callers = IntrospectionCallers::new(&[Secret::new(&a), Secret::new(&b)]).unwrap();
        assert!(callers.admits(&a) && callers.admits(&b));
        assert!(!callers.admits(&a[..31]));
        assert!(!callers.admits(""));
        assert!(!callers.admits(&format!("{a}x")));
        assert!(IntrospectionCallers::new(&[]).is_none());
    }

    #[test]
    fn an_admin_secret_is_known_by_its_label() {
        let (a, b) = ("a".repeat(32), "b".repeat(32));
        let admins = AdminCallers::new(&[
            ("ops".into(), Secret::new(&a)),
            ("ci".into(), Secret::new(&b)),
        ])
        .unwrap();
        assert_eq!(admins.admits(&a), Some("ops"));
        assert_eq!(admins.admits(&b), Some("ci"));
        assert_eq!(admins.admits(&a[..31]), None);
        assert!(AdminCallers::new(&[]).is_none());
    }
}
