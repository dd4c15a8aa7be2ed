//! User accounts: validation of what a client sends (`credentials`), password
//! hashing off the async workers (`password`), and the SQL store (`store`).

pub mod hasher;
pub mod input;
pub mod store;

pub use hasher::{HashError, PasswordHasher};
pub use input::{Email, Password};
pub use store::{CreateUserError, Credentials, User, UserStore};
