//! User accounts: validation of what a client sends (`input`), password
//! hashing off the async workers (`hasher`), the SQL store (`store`), the
//! single-use tokens sent by mail (`mailed_tokens`), the rows of second
//! factors (`factor_rows`), and identities at OpenID providers (`identities`).

pub mod factor_rows;
pub mod hasher;
pub mod identities;
pub mod input;
pub mod mailed_tokens;
pub mod settings;
pub mod store;

pub use factor_rows::{FactorAdded, PasskeyDeleted, PasskeyRow, TotpEnrolment};
pub use hasher::{HashError, PasswordHasher};
pub use identities::{AccountForIdentity, IdentityRow, NewIdentity, Unlinked};
pub use input::{Email, Password};
pub use mailed_tokens::{MailedToken, TokenKind};
pub use settings::HashingSettings;
pub use store::{CreateUserError, Credentials, EnabledFactors, User, UserStore};
