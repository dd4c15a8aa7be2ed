//! What every handler shares, built once in `startup`.

use crate::auth::{AdminCallers, Auth, IntrospectionCallers};
use crate::connections::Connections;
use crate::http::client_ip::TrustedProxies;

pub struct AppState {
    pub auth: Auth,
    pub connections: Connections,
    pub trusted_proxies: TrustedProxies,
    /// `None`: introspection is off (404).
    pub introspection: Option<IntrospectionCallers>,
    /// `None`: the admin API is off (404).
    pub admin: Option<AdminCallers>,
    /// RFC 8414 metadata, rendered once.
    pub metadata: String,
    /// `AUTHD_PAGES_TITLE`: the product named on authd's pages.
    pub pages_title: String,
}
