//! HTTP plumbing shared by the routes: body parsing, the error contract,
//! the Bearer guard, the request id, and who the client is. Nothing here
//! decides a rule; `auth` does.

pub mod body;
pub mod client;
pub mod error;
pub mod guard;
pub mod observe;
pub mod request_id;

pub use error::{ApiError, ApiResult};
