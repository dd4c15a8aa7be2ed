//! The values the session scripts take and give back, turned to and from
//! Redis's: methods and key thumbprints as arguments, fields of a reply.

use std::time::Duration;

use authd_guard::{Amr, Thumbprint};
use deadpool_redis::redis;

use crate::connections::StoreError;

/// A session's methods as stored ('' or none: a password alone, the only
/// login before second factors).
pub(super) fn stored_amr(value: &redis::Value) -> Amr {
    match value {
        redis::Value::BulkString(b) if !b.is_empty() => {
            Amr::from_names(String::from_utf8_lossy(b).split(','))
        }
        _ => Amr::PASSWORD,
    }
}

/// Methods as a script argument.
pub(super) fn amr_arg(amr: Amr) -> String {
    amr.names().collect::<Vec<_>>().join(",")
}

/// A thumbprint as a script argument ('' for none).
pub(super) fn key_arg(key: Option<Thumbprint>) -> Vec<u8> {
    key.map(|k| k.0.to_vec()).unwrap_or_default()
}

pub(super) fn text(v: &redis::Value) -> Option<&str> {
    match v {
        redis::Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
        redis::Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

/// A unix time in ms from a script, as whole unix seconds (rounded down).
pub(super) fn unix_secs(v: &redis::Value) -> Result<u64, StoreError> {
    match v {
        redis::Value::Int(ms) if *ms >= 0 => Ok(*ms as u64 / 1000),
        other => Err(StoreError::RedisReply(format!(
            "expected a unix time in ms, got {other:?}"
        ))),
    }
}

pub(super) fn millis(v: &redis::Value) -> Result<Duration, StoreError> {
    match v {
        redis::Value::Int(ms) if *ms > 0 => Ok(Duration::from_millis(*ms as u64)),
        redis::Value::Int(_) => Ok(Duration::ZERO),
        other => Err(StoreError::RedisReply(format!(
            "expected milliseconds, got {other:?}"
        ))),
    }
}
