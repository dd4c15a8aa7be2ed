//! Settings of second factors: the key that seals TOTP secrets, and the
//! WebAuthn relying party.

use std::path::PathBuf;

use crate::common::settings::{list, path, text};
use crate::settings_section;

fn origins(value: &str) -> Result<Vec<String>, String> {
    Ok(list(value).map(str::to_string).collect())
}

settings_section! {
    /// TOTP secrets at rest, and passkeys (WebAuthn).
    pub struct FactorSettings in "second factors and passkeys" {
        /// A file holding 32 random bytes (raw, or base64 as `openssl rand -base64
        /// 32` writes them) that seal TOTP secrets at rest (AES-256-GCM). Unset:
        /// in development secrets are stored unsealed; production refuses to
        /// enrol TOTP without it, and refuses to start without it once a user has
        /// enrolled.
        pub encryption_key_file: Option<PathBuf> = "AUTHD_ENCRYPTION_KEY_FILE" [] => path;
        /// The WebAuthn relying party id: the domain passkeys are bound to. Unset:
        /// the host of `AUTHD_PUBLIC_URL`, else `localhost`.
        pub webauthn_rp_id: Option<String> = "AUTHD_WEBAUTHN_RP_ID" [] => text;
        /// The name authenticators show for the relying party; also the issuer in
        /// TOTP `otpauth://` URIs.
        pub webauthn_rp_name: String = "AUTHD_WEBAUTHN_RP_NAME" ["authd"] => text;
        /// Comma-separated origins a passkey ceremony may come from: web origins
        /// (`https://app.example.com`) and Android apps
        /// (`android:apk-key-hash:<base64url SHA-256 of the signing certificate>`).
        /// Unset: the origin of `AUTHD_PUBLIC_URL`, else `http://localhost:8080`.
        pub webauthn_origins: Vec<String> = "AUTHD_WEBAUTHN_ORIGINS" [""] => origins;
    }
}
