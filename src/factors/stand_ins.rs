//! Passkey stand-ins: the credential ids a passkey login started with an
//! address lists when that address has no passkey (or no account), so the
//! answer has the same shape for every address and tells nobody which ones
//! have passkeys. Deterministic per address (the same ids every time, on
//! every instance: a changing list would itself tell), keyed with a server
//! secret nobody outside can recompute them without. Most accounts with
//! passkeys have one or two, of the lengths real authenticators use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Credential id lengths seen from real authenticators (webauthn-rs's
/// survey): Bitwarden 16, Apple 20, a TPM 32, a YubiKey 64, a Pixel 65.
const LENGTHS: [usize; 5] = [16, 20, 32, 64, 65];

pub struct StandIns {
    key: [u8; 32],
}

/// The key never shows.
impl std::fmt::Debug for StandIns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StandIns")
    }
}

impl StandIns {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        for part in parts {
            mac.update(part);
            mac.update(b"\0");
        }
        mac.finalize().into_bytes().into()
    }

    /// The base64url credential ids listed for `address` (normalized).
    pub fn for_address(&self, address: &str) -> Vec<String> {
        let seed = self.mac(&[b"passkey stand-ins v1", address.as_bytes()]);
        // One in most cases, two in about one of ten.
        let count = if seed[0] < 230 { 1 } else { 2 };
        (0..count)
            .map(|i| {
                let length = LENGTHS[usize::from(seed[1 + i]) % LENGTHS.len()];
                let mut id = Vec::with_capacity(length);
                let mut block = 0u8;
                while id.len() < length {
                    id.extend_from_slice(&self.mac(&[&seed, &[i as u8, block]]));
                    block += 1;
                }
                id.truncate(length);
                URL_SAFE_NO_PAD.encode(id)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_ins_are_stable_per_address_and_key_and_look_like_credential_ids() {
        let stand_ins = StandIns::new([3; 32]);
        let a = stand_ins.for_address("a@example.com");
        assert_eq!(a, stand_ins.for_address("a@example.com"));
        assert_ne!(a, stand_ins.for_address("b@example.com"));
        assert_ne!(a, StandIns::new([4; 32]).for_address("a@example.com"));
        let mut counts = [0usize; 3];
        for n in 0..1000 {
            let ids = stand_ins.for_address(&format!("user{n}@example.com"));
            counts[ids.len()] += 1;
            for id in ids {
                let bytes = URL_SAFE_NO_PAD.decode(&id).unwrap();
                assert!(LENGTHS.contains(&bytes.len()), "{id}");
            }
        }
        assert_eq!(counts[0], 0, "never an empty list");
        assert!(counts[2] > 20 && counts[2] < 200, "{counts:?}");
    }
}
