//! Second factors, apart from SQL rows (`users::factor_rows`) and the rules
//! (`auth::mfa`, `auth::passkeys`): RFC 6238 codes (`totp`), recovery codes
//! (`recovery_codes`), what a passkey login lists for an address without
//! passkeys (`stand_ins`), the WebAuthn
//! relying party (`webauthn`), and the short-lived state of a login's second
//! step, of WebAuthn ceremonies and of spent TOTP steps, in Redis
//! (`challenges`), so any instance finishes what another began.

pub mod challenges;
pub mod recovery_codes;
pub mod settings;
pub mod stand_ins;
pub mod totp;
pub mod webauthn;

pub use challenges::Challenges;
pub use settings::FactorSettings;
pub use stand_ins::StandIns;
pub use totp::TotpSecret;
pub use webauthn::RelyingParty;
