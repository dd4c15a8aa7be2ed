//! The guard as actix-web middleware: wrap a resource or scope with
//! `RequireToken::new(guard)`; handlers behind it take [`Identity`] as an
//! extractor (or `web::ReqData<Identity>`).

use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::guard::Guard;
use crate::presented::Presented;
use crate::revocation::Revocation;
use crate::session_check::SessionCheck;

pub struct RequireToken<C = Revocation> {
    guard: Arc<Guard<C>>,
}

impl<C> RequireToken<C> {
    pub fn new(guard: Arc<Guard<C>>) -> Self {
        Self { guard }
    }
}

impl<C> Clone for RequireToken<C> {
    fn clone(&self) -> Self {
        Self {
            guard: self.guard.clone(),
        }
    }
}

impl<S, B, C> Transform<S, ServiceRequest> for RequireToken<C>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    C: SessionCheck + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireTokenService<S, C>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireTokenService {
            service: Rc::new(service),
            guard: self.guard.clone(),
        }))
    }
}

pub struct RequireTokenService<S, C> {
    service: Rc<S>,
    guard: Arc<Guard<C>>,
}

impl<S, B, C> Service<ServiceRequest> for RequireTokenService<S, C>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    C: SessionCheck + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let guard = self.guard.clone();
        Box::pin(async move {
            let public_base = guard.dpop().public_base.as_deref();
            let outcome = guard
                .authenticate_request(&Presented::from_request(req.request(), public_base))
                .await;
            match outcome {
                Ok(identity) => {
                    req.extensions_mut().insert(identity);
                    let mut res = service.call(req).await?;
                    // The nonce of the moment, so a client keeps a fresh one
                    // without a 401 per window (RFC 9449 §9).
                    if let (Some(_), Some(nonces)) = (identity.key, &guard.dpop().nonces) {
                        let nonce = nonces.current(crate::dpop::unix_now());
                        if let Ok(value) = HeaderValue::from_str(&nonce) {
                            res.headers_mut()
                                .insert(HeaderName::from_static("dpop-nonce"), value);
                        }
                    }
                    Ok(res.map_into_left_body())
                }
                Err(refusal) => Ok(req
                    .into_response(refusal.error_response())
                    .map_into_right_body()),
            }
        })
    }
}
