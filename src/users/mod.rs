//! User accounts: validation of what a client sends (`input`), password
//! hashing off the async workers (`hasher`), the SQL store (`store`), and
//! the single-use tokens sent by mail (`account_tokens`), and the rows of
//! second factors (`factors`).

pub mod account_tokens;
pub mod factors;
pub mod hasher;
pub mod input;
pub mod settings;
pub mod store;
pub mod token_rows;

pub use factors::{FactorAdded, PasskeyRow, TotpEnrolment};
pub use hasher::{HashError, PasswordHasher};
pub use input::{Email, Password};
pub use settings::HashingSettings;
pub use store::{CreateUserError, Credentials, SecondFactors, User, UserStore};
pub use token_rows::{TokenKind, Verification};
