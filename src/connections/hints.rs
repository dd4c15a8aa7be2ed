//! What an operator is told when a store does not answer at startup: the
//! URL that was tried, its password (and any `password=` parameter) hidden,
//! and how to start one.

/// `url` with the password of its userinfo, and the value of any
/// `password` query parameter, replaced by `***`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// How to start a Redis for authd.
pub const START_REDIS: &str = "start one with `redis-server` (or, for authd in docker compose, `docker compose up -d redis`), or point AUTHD_REDIS_URL at one";

/// What to do about a database that could not be opened at `url`.
pub fn database_hint(url: &str) -> String {
    match sqlite_path(url) {
        Some(path) => format!(
            "the SQLite file {path} could not be opened or created: check that its directory exists and authd may write there, or point AUTHD_DATABASE_URL elsewhere"
        ),
        None => "start Postgres (`pg_ctl start`, or for authd in docker compose `docker compose --profile scaled up -d postgres`), or point AUTHD_DATABASE_URL at one".to_string(),
    }
}

/// The file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    Some(rest.split('?').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(
            redacted("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redacted("postgres://authd:hunter2@db:5432/authd?sslmode=verify-full&password=hunter2"),
            "postgres://authd:***@db:5432/authd?sslmode=verify-full&password=***"
        );
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redacted("rediss://user@h:1"), "rediss://user@h:1");
        assert_eq!(redacted("sqlite://authd.db"), "sqlite://authd.db");
    }

    #[test]
    fn sqlite_names_its_file_and_postgres_how_to_start_it() {
        assert!(database_hint("sqlite:///var/x/authd.db?mode=rwc").contains("/var/x/authd.db "));
        assert!(database_hint("sqlite://authd.db").contains("authd.db could not"));
        assert!(database_hint("postgres://h/db").contains("docker compose --profile scaled"));
    }
}
