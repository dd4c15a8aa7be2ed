//! Which store connections travel in the clear to another host: production
//! warns about them at startup.

use crate::common::Secret;

/// The stores (`Redis host:port`, `database host`) whose URL connects in
/// plaintext to a host other than this one.
pub fn plaintext_remote_stores(redis_url: &Secret, database_url: &Secret) -> Vec<String> {
    let mut out = Vec::new();
    for node in redis_url.expose().split(',').map(str::trim) {
        if let Some(rest) = after_scheme(node, &["redis://", "valkey://"]) {
            let host = host_of(rest);
            if !is_local(&host) {
                out.push(format!("Redis {host}"));
            }
        }
    }
    let db = database_url.expose();
    if let Some(rest) = after_scheme(db, &["postgres://", "postgresql://"]) {
        let host = host_of(rest);
        let query = rest.split_once('?').map_or("", |(_, q)| q);
        let encrypted = query.split('&').any(|pair| {
            matches!(
                pair,
                "sslmode=require" | "sslmode=verify-ca" | "sslmode=verify-full"
            )
        });
        if !encrypted && !is_local(&host) {
            out.push(format!("database {host}"));
        }
    }
    out
}

/// What follows the first of `schemes` (any case) that `url` starts with.
fn after_scheme<'a>(url: &'a str, schemes: &[&str]) -> Option<&'a str> {
    schemes.iter().find_map(|scheme| {
        let head = url.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme)
            .then(|| &url[scheme.len()..])
    })
}

/// The host of `user:pass@host:port/path?query` (brackets kept off IPv6).
fn host_of(rest: &str) -> String {
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6).to_string();
    }
    host_port
        .rsplit_once(':')
        .map_or(host_port, |(h, _)| h)
        .to_string()
}

fn is_local(host: &str) -> bool {
    host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stores(redis: &str, db: &str) -> Vec<String> {
        plaintext_remote_stores(&Secret::new(redis), &Secret::new(db))
    }

    #[test]
    fn only_plaintext_to_another_host_is_reported() {
        assert!(stores("redis://127.0.0.1:6379", "sqlite://authd.db").is_empty());
        assert_eq!(
            stores("REDIS://cache:6379", "sqlite://a.db"),
            vec!["Redis cache".to_string()]
        );
        assert_eq!(
            stores("valkey://cache:6379", "sqlite://a.db"),
            vec!["Redis cache".to_string()]
        );
        assert!(stores("redis://:pw@localhost/0", "postgres://u:p@[::1]:5432/a").is_empty());
        assert!(stores(
            "rediss://cache.internal:6380",
            "postgres://db/a?sslmode=verify-full"
        )
        .is_empty());
        assert_eq!(
            stores(
                "redis://a.internal:7000,redis://10.0.0.2:7001",
                "postgres://u:secret@db.internal:5432/authd?sslmode=prefer"
            ),
            vec![
                "Redis a.internal".to_string(),
                "Redis 10.0.0.2".to_string(),
                "database db.internal".to_string()
            ]
        );
    }
}
