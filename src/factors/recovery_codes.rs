//! Recovery codes: ten per user, 80 random bits each, shown once as
//! `xxxx-xxxx-xxxx-xxxx` (base32, lower case). Only the SHA-256 of the
//! user's id and the code is stored; 80 bits make the hash useless to
//! whoever reads the database.

use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const COUNT: usize = 10;

/// Fresh codes, as the user sees them.
pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::fill(&mut bytes);
            let text = crate::common::sealing::base32(&bytes).to_ascii_lowercase();
            text.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What is stored for `code` of `user`: the code as typed, with case,
/// dashes and spaces ignored. None for what cannot be a code.
pub fn hash(user: Uuid, code: &str) -> Option<String> {
    let normalized: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if normalized.len() != 16
        || !normalized
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'))
    {
        return None;
    }
    let mut digest = Sha256::new();
    digest.update(user.as_bytes());
    digest.update(normalized.as_bytes());
    Some(
        digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_hash_however_typed() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), COUNT);
        let user = Uuid::new_v4();
        let code = &codes[0];
        assert_eq!(code.len(), 19);
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(hash(user, code), hash(user, &typed));
        assert_ne!(hash(user, code), hash(Uuid::new_v4(), code));
        assert_eq!(hash(user, "not a code"), None);
    }
}
