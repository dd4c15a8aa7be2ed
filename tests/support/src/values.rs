//! Values the tests share: one constant per value.

use uuid::Uuid;

/// Every test account's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// An email no other test uses.
pub fn unique_email() -> String {
    format!("user-{}@example.com", Uuid::new_v4().as_simple())
}
