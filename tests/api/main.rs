//! Black-box tests over HTTP. Each test builds its own world (see helpers).

mod access_tokens;
mod accounts;
mod errors;
mod faults;
mod health;
mod helpers;
mod keys;
mod logout;
mod password;
mod refresh;
mod sessions;
mod storage;
mod throttle;
