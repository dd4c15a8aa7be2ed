//! Log output, as `AUTHD_LOG_FORMAT` says: env_logger's text lines, each
//! ending with the request id of the request that caused it (`rid=…`), or
//! one JSON object a line (`timestamp`, `level`, `target`, `message`,
//! `request_id`, and a record's own fields: the access log's `method`,
//! `route`, `status`, `duration_ms`).

use std::io::Write;

use log::kv::{Error as KvError, Key, Value as KvValue, VisitSource};
use serde_json::{Map, Value};

/// Reads `AUTHD_LOG_FORMAT` itself: logging starts before the settings are
/// checked (a bad value is then reported by the settings).
pub fn init() {
    let json =
        std::env::var("AUTHD_LOG_FORMAT").is_ok_and(|f| f.trim().eq_ignore_ascii_case("json"));
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if json {
        builder.format(|buf, record| {
            let mut line = Map::new();
            line.insert(
                "timestamp".into(),
                buf.timestamp_micros().to_string().into(),
            );
            line.insert("level".into(), record.level().as_str().into());
            line.insert("target".into(), record.target().into());
            line.insert("message".into(), record.args().to_string().into());
            if let Some(id) = crate::http::request_id::current() {
                line.insert("request_id".into(), id.into());
            }
            let _ = record.key_values().visit(&mut Fields(&mut line));
            writeln!(buf, "{}", Value::Object(line))
        });
    } else {
        builder.format(|buf, record| {
            let timestamp = buf.timestamp();
            let level = record.level();
            let style = buf.default_level_style(level);
            write!(
                buf,
                "[{timestamp} {style}{level:<5}{style:#} {}] {}",
                record.target(),
                record.args()
            )?;
            match crate::http::request_id::current() {
                Some(id) => writeln!(buf, " rid={id}"),
                None => writeln!(buf),
            }
        });
    }
    builder.init();
}

/// A record's key-value pairs as JSON fields (numbers stay numbers).
struct Fields<'a>(&'a mut Map<String, Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: KvValue<'kvs>) -> Result<(), KvError> {
        let json = if let Some(n) = value.to_u64() {
            Value::from(n)
        } else if let Some(n) = value.to_i64() {
            Value::from(n)
        } else if let Some(x) = value.to_f64() {
            Value::from((x * 1000.0).round() / 1000.0)
        } else if let Some(b) = value.to_bool() {
            Value::from(b)
        } else {
            Value::from(value.to_string())
        };
        self.0.insert(key.as_str().to_string(), json);
        Ok(())
    }
}
