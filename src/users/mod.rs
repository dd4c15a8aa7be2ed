//! User accounts: validation of what a client sends (`credentials`), password
//! hashing off the async workers (`password`), and the SQL store (`store`).

pub mod credentials;
pub mod password;
pub mod store;

pub use credentials::{Email, Password};
pub use password::{HashError, PasswordHasher};
pub use store::{CreateUserError, Credentials, User, UserStore};
