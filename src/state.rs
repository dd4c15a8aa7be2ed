//! What every handler shares, built once in `startup`.

use crate::auth::{Auth, IntrospectionCallers};
use crate::client_ip::TrustedProxies;
use crate::connections::Connections;

pub struct AppState {
    pub auth: Auth,
    pub connections: Connections,
    pub trusted_proxies: TrustedProxies,
    /// `None`: introspection is off (404).
    pub introspection: Option<IntrospectionCallers>,
    /// RFC 8414 metadata, rendered once.
    pub metadata: String,
}
