//! How authd reaches its stores, as production warns about it at startup:
//! in plaintext to another host, or to a Postgres whose identity is never
//! checked.

use crate::common::Secret;

/// One warning per store reached on another host in a way an attacker on
/// the path could read or impersonate: Redis without TLS, and Postgres
/// with any `sslmode` but `verify-full`. `disable`, `allow` and `prefer`
/// (sqlx's default) may travel in plaintext; `require` encrypts but takes
/// any certificate, and `verify-ca` one from the CA issued for any host:
/// only `verify-full` checks the server is the host the URL names.
pub fn store_transport_warnings(redis_url: &Secret, database_url: &Secret) -> Vec<String> {
    let mut out = Vec::new();
    for node in redis_url.expose().split(',').map(str::trim) {
        if let Some(rest) = after_scheme(node, &["redis://", "valkey://"]) {
            let host = host_of(rest);
            if !is_local(&host) {
                out.push(format!(
                    "Redis {host}: a plaintext connection to a host that is not this one; use TLS (rediss://)"
                ));
            }
        }
    }
    let db = database_url.expose();
    if let Some(rest) = after_scheme(db, &["postgres://", "postgresql://"]) {
        let host = host_of(rest);
        let query = rest.split_once('?').map_or("", |(_, q)| q);
        // The last one wins, as in sqlx; `prefer` when there is none.
        let mode = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(key, _)| matches!(*key, "sslmode" | "ssl-mode"))
            .map(|(_, value)| value.to_ascii_lowercase())
            .next_back()
            .unwrap_or_else(|| "prefer".into());
        if !is_local(&host) {
            match mode.as_str() {
                "verify-full" => {}
                "require" | "verify-ca" => out.push(format!(
                    "database {host}: sslmode={mode} encrypts but does not check that the server is {host} (require takes any certificate, verify-ca one issued for any host); set sslmode=verify-full"
                )),
                _ => out.push(format!(
                    "database {host}: a plaintext connection to a host that is not this one; use TLS (sslmode=verify-full)"
                )),
            }
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

    /// The store each warning is about (what precedes the colon).
    fn stores(redis: &str, db: &str) -> Vec<String> {
        store_transport_warnings(&Secret::new(redis), &Secret::new(db))
            .into_iter()
            .map(|w| w.split(':').next().unwrap().to_string())
            .collect()
    }

    fn warnings(db: &str) -> Vec<String> {
        store_transport_warnings(&Secret::new("rediss://cache:6380"), &Secret::new(db))
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

    /// `require` and `verify-ca` encrypt but let another host pose as the
    /// database: only `verify-full` goes unwarned, and the warning names it.
    #[test]
    fn postgres_without_verify_full_is_reported_with_the_setting_to_use() {
        for url in [
            "postgres://u:secret@db.internal/authd?sslmode=require",
            "postgres://u:secret@db.internal/authd?application_name=a&sslmode=verify-ca",
            "postgresql://u:secret@db.internal/authd?ssl-mode=require",
            "postgres://u:secret@db.internal/authd?sslmode=verify-full&sslmode=require",
        ] {
            let found = warnings(url);
            assert_eq!(found.len(), 1, "{url}: {found:?}");
            assert!(
                found[0].starts_with("database db.internal: sslmode="),
                "{found:?}"
            );
            assert!(found[0].contains("set sslmode=verify-full"), "{found:?}");
            assert!(!found[0].contains("secret"), "{found:?}");
        }
        for url in [
            "postgres://u:secret@db.internal/authd",
            "postgres://u:secret@db.internal/authd?sslmode=disable",
            "postgres://u:secret@db.internal/authd?sslmode=allow",
        ] {
            let found = warnings(url);
            assert_eq!(found.len(), 1, "{url}: {found:?}");
            assert!(found[0].contains("plaintext"), "{found:?}");
            assert!(found[0].contains("sslmode=verify-full"), "{found:?}");
        }
        for url in [
            "postgres://u:secret@db.internal/authd?sslmode=verify-full",
            "postgres://u:secret@db.internal/authd?sslmode=require&sslmode=verify-full",
            "postgres://u:secret@localhost/authd?sslmode=require",
        ] {
            assert!(warnings(url).is_empty(), "{url}");
        }
    }
}
