//! Whether a verified token's session still lives: what makes a logout,
//! a password change or a lost-device revocation reach the resource server
//! before the access token expires. Each way of checking implements it.

use std::future::Future;

use crate::identity::Identity;
use crate::unavailable::Unavailable;

pub trait SessionCheck {
    /// `token`: the access token itself, verified already.
    fn is_live(
        &self,
        identity: Identity,
        token: &str,
    ) -> impl Future<Output = Result<bool, Unavailable>>;
}

/// No check: signature and claims only; a token stands until it expires.
impl<C: SessionCheck> SessionCheck for Option<C> {
    async fn is_live(&self, identity: Identity, token: &str) -> Result<bool, Unavailable> {
        match self {
            Some(check) => check.is_live(identity, token).await,
            None => Ok(true),
        }
    }
}
