//! RFC 6238 codes as authenticator apps make them: HMAC-SHA-1, 6 digits,
//! 30 s steps. A code is accepted for the current step and the one before
//! (a code typed as the step turned); which step matched is returned so the
//! caller can spend it (`Challenges::spend_totp_step`).

use totp_rs::{Algorithm, TOTP};

pub const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
/// RFC 4226 §4 asks for at least 128 bits; 160 is what apps expect.
const SECRET_BYTES: usize = 20;

/// A TOTP secret; never printed.
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::fill(&mut bytes[..]);
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32, as a user types it into an app.
    pub fn base32(&self) -> String {
        crate::common::sealing::base32(&self.0)
    }

    fn totp(&self, issuer: &str, account: &str) -> TOTP {
        TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            0,
            STEP_SECS,
            self.0.clone(),
            // A colon would split the label (Key Uri Format).
            Some(issuer.replace(':', "")),
            account.replace(':', ""),
        )
    }

    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…`, for a QR code.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        self.totp(issuer, account).get_url()
    }

    /// The code of the step holding `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.totp("", "").generate(unix_secs)
    }

    /// The step (`unix time / 30`) whose code `code` is, among the current
    /// step and the one before; none for anything else, or a code that is
    /// not 6 digits.
    pub fn matching_step(&self, code: &str, now: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now / STEP_SECS;
        [current, current.saturating_sub(1)]
            .into_iter()
            .find(|step| {
                constant_time_eq(self.code_at(step * STEP_SECS).as_bytes(), code.as_bytes())
            })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 Appendix B, SHA-1 seed, last 6 of the 8 digits.
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(secret.code_at(59), "287082");
        assert_eq!(secret.code_at(1111111109), "081804");
        assert_eq!(secret.code_at(1234567890), "005924");
    }

    #[test]
    fn the_current_and_previous_step_match_and_nothing_else() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_015;
        let step = now / STEP_SECS;
        assert_eq!(secret.matching_step(&secret.code_at(now), now), Some(step));
        assert_eq!(
            secret.matching_step(&secret.code_at(now - 30), now),
            Some(step - 1)
        );
        assert_eq!(secret.matching_step(&secret.code_at(now - 60), now), None);
        assert_eq!(secret.matching_step(&secret.code_at(now + 30), now), None);
        assert_eq!(secret.matching_step("12345", now), None);
        assert_eq!(secret.matching_step("abcdef", now), None);
    }

    #[test]
    fn the_uri_names_issuer_account_and_secret() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let uri = secret.uri("authd", "a@example.com");
        assert!(
            uri.starts_with("otpauth://totp/authd:a%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(uri.contains("issuer=authd"), "{uri}");
    }
}
