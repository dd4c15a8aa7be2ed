//! Who is calling: what the guard hands to handlers after a token checks out
//! (the guard crate's type, shared with resource servers).

pub use authd_guard::Identity;
