//! HTTP plumbing shared by the routes: body parsing, the error contract,
//! the Bearer guard, the request id, and who the client is. Nothing here
//! decides a rule; `auth` does.

pub mod body;
pub mod client;
pub mod client_ip;
pub mod cors;
pub mod error;
pub mod html;
pub mod mount;
pub mod observe;
pub mod openapi;
pub mod request_id;
pub mod responses;
pub mod routes;
pub mod state;

pub use error::{ApiError, ApiResult};
