//! Black-box tests over HTTP. Each test builds its own world (see helpers).

mod access_tokens;
mod accounts;
mod cluster;
mod deletion;
mod durability;
mod errors;
mod failover;
mod faults;
mod health;
mod helpers;
mod instances;
mod keys;
mod liveness;
mod logout;
mod metrics;
mod oauth;
mod openapi;
mod password;
mod recovery;
mod refresh;
mod request_ids;
mod sessions;
mod storage;
mod throttle;
mod tls;
mod verification;
