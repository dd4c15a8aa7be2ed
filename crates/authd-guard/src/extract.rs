//! [`Identity`] as an extractor: the identity [`RequireToken`] established,
//! or, on a route it does not wrap, the request authenticated here with the
//! `web::Data<Guard>` of the app. Neither: 401 (fail closed).
//!
//! [`RequireToken`]: crate::RequireToken

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::error::Refusal;
use crate::guard::Guard;
use crate::identity::Identity;
use crate::presented::Presented;
use crate::token_problem::TokenProblem;

impl FromRequest for Identity {
    type Error = Refusal;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(identity) = req.extensions().get::<Identity>().copied() {
            return Box::pin(async move { Ok(identity) });
        }
        let guard = req.app_data::<web::Data<Guard>>().cloned();
        let req = req.clone();
        Box::pin(async move {
            let Some(guard) = guard else {
                log::error!(
                    "Identity extracted on a route without RequireToken or web::Data<Guard>"
                );
                return Err(Refusal::InvalidToken(TokenProblem::Missing));
            };
            let public_base = guard.dpop().public_base.as_deref();
            let identity = guard
                .authenticate_request(&Presented::from_request(&req, public_base))
                .await?;
            req.extensions_mut().insert(identity);
            Ok(identity)
        })
    }
}
