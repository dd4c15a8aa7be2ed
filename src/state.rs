//! What every handler shares, built once in `startup`.

use crate::auth::Auth;
use crate::client_ip::TrustedProxies;
use crate::connections::Connections;

pub struct AppState {
    pub auth: Auth,
    pub connections: Connections,
    pub trusted_proxies: TrustedProxies,
}
