//! The docs name only what exists. Every path, Rust path (`a::b`), type
//! (`CamelCase`) or function (`name()`) that README.md or docs/*.md names in
//! backticks must be found in the repository; every Redis key kind
//! docs/sessions.md lists must be one the key schema builds, and every kind
//! the schema builds must be listed there. A doc that drifts from the code
//! fails here, not in a reader's hands.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Where Rust modules are looked up: authd's library, the guard's, and the
/// API tests (`storage::a_session_takes…` names a test).
const CRATE_ROOTS: [&str; 3] = ["src", "crates/authd-guard/src", "tests/api"];

/// Names of the platform, of WebAuthn or of other crates that docs mention
/// and this repository does not define.
const FOREIGN_TYPES: &[&str] = &[
    "ArrayBuffer",
    "BroadcastChannel",
    "CryptoKey",
    "DPoP",
    "EdDSA",
    "FormData",
    "NotAllowedError",
    "PublicKeyCredential",
    "PublicKeyCredentialCreationOptions",
    "PublicKeyCredentialRequestOptions",
];
/// Functions of the platform the docs mention.
const FOREIGN_FUNCTIONS: &[&str] = &["toJSON"];
/// Rust paths into other crates.
const FOREIGN_PATHS: &[&str] = &["web::", "std::", "actix_web::", "tokio::", "sqlx::"];

fn docs() -> Vec<(PathBuf, String)> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    for entry in std::fs::read_dir(Path::new(ROOT).join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect()
}

/// The spans in backticks of `text`, outside fenced code blocks.
fn spans(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), parts.next()) {
            out.push(inside.to_string());
        }
    }
    out
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with('.') || name == "node_modules" || name == "target" || name == "dist" {
            continue;
        }
        if path.is_dir() {
            files_under(&path, out);
        }
        out.push(path);
    }
}

/// Every file and folder of the repository, relative to its root.
fn repository() -> Vec<String> {
    let mut all = Vec::new();
    files_under(Path::new(ROOT), &mut all);
    all.iter()
        .map(|p| {
            p.strip_prefix(ROOT)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

fn sources(extension: &str) -> String {
    let mut text = String::new();
    for path in repository() {
        if path.ends_with(extension) && !path.starts_with("tests/docs.rs") {
            text.push_str(&std::fs::read_to_string(Path::new(ROOT).join(&path)).unwrap());
            text.push('\n');
        }
    }
    text
}

fn is_ident(word: &str) -> bool {
    !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !word.starts_with(|c: char| c.is_ascii_digit())
}

/// The names Rust, TypeScript and Lua sources define: items, enum
/// variants, methods, Lua functions.
fn defined_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let keywords = [
        "fn",
        "struct",
        "enum",
        "trait",
        "type",
        "mod",
        "const",
        "static",
        "macro_rules!",
        "class",
        "interface",
        "function",
        "let",
    ];
    for text in [sources(".rs"), sources(".ts"), sources(".lua")] {
        for line in text.lines() {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '!'))
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                if keywords.contains(&pair[0]) && is_ident(pair[1]) {
                    names.insert(pair[1].to_string());
                }
            }
            // An enum variant or a method: a name opening a line, followed
            // by `(`, `{`, `,` or `<` (`Variant,`, `Variant { … }`,
            // `method(…) {` in TypeScript).
            let trimmed = line.trim_start();
            let trimmed = trimmed.strip_prefix("async ").unwrap_or(trimmed);
            let name: String = trimmed
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let rest = trimmed[name.len()..].trim_start();
            if is_ident(&name) && (rest.starts_with(['(', '{', ',', '<']) || rest.is_empty()) {
                names.insert(name);
            }
        }
    }
    names
}

/// A path-like span (`src/lib.rs`, `http/routes/*`, `telemetry/requests`).
fn is_path(span: &str) -> bool {
    span.contains('/')
        && !span.starts_with(['/', '<', '?', '@', '.', '-'])
        && !span.contains("://")
        && span.split('/').all(|part| {
            part.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-*".contains(c))
        })
}

fn path_exists(span: &str, repository: &[String]) -> bool {
    let wanted = span.trim_end_matches('/');
    let glob = wanted.strip_suffix("/*");
    repository.iter().any(|path| {
        let candidates = [path.as_str(), path.strip_suffix(".rs").unwrap_or(path)];
        candidates.iter().any(|candidate| {
            let matches =
                |name: &str| *candidate == name || candidate.ends_with(&format!("/{name}"));
            match glob {
                Some(dir) => candidate
                    .rsplit_once('/')
                    .is_some_and(|(parent, _)| matches(dir) || parent.ends_with(dir)),
                None if wanted.ends_with("*.lua") => {
                    let dir = wanted.trim_end_matches("*.lua").trim_end_matches('/');
                    candidate.ends_with(".lua") && candidate.contains(dir)
                }
                None => matches(wanted),
            }
        })
    })
}

/// The module file of `segments` under `root`, and how many segments it
/// took.
fn module_file(root: &str, segments: &[&str]) -> (Option<PathBuf>, usize) {
    let mut dir = Path::new(ROOT).join(root);
    let mut file = None;
    let mut taken = 0;
    for segment in segments {
        let as_file = dir.join(format!("{segment}.rs"));
        let as_dir = dir.join(segment).join("mod.rs");
        if as_file.is_file() {
            file = Some(as_file);
        } else if as_dir.is_file() {
            file = Some(as_dir);
        } else {
            break;
        }
        dir = dir.join(segment);
        taken += 1;
    }
    (file, taken)
}

/// Whether a Rust path a doc names exists: in some crate root, modules as
/// files, then the next segment defined in the module reached and any
/// further ones defined somewhere (`Type::method`); a path that starts at
/// no module (`Auth::login`) needs every segment defined somewhere.
fn rust_path_exists(span: &str, defined: &BTreeSet<String>) -> bool {
    // `Guard::for_authd(url, revocation)`, `web::Data<Guard>`: the path.
    let path = span.split(['(', '<']).next().unwrap_or(span);
    let path = path.strip_prefix("authd_guard::").unwrap_or(path);
    let segments: Vec<&str> = path.split("::").collect();
    if !segments.iter().all(|s| is_ident(s)) {
        return false;
    }
    let mut from_a_module = false;
    for root in CRATE_ROOTS {
        let (file, taken) = module_file(root, &segments);
        let Some(file) = file else { continue };
        from_a_module = true;
        let rest = &segments[taken..];
        let Some(first) = rest.first() else {
            return true;
        };
        let text = std::fs::read_to_string(file).unwrap();
        if defined_in(&text, first) && rest[1..].iter().all(|s| defined.contains(*s)) {
            return true;
        }
    }
    !from_a_module && segments.iter().all(|s| defined.contains(*s))
}

/// Whether `text` (one module) defines or re-exports `name`.
fn defined_in(text: &str, name: &str) -> bool {
    let word = |w: &str| {
        text.match_indices(name).any(|(at, _)| {
            let before = text[..at].trim_end();
            let after = &text[at + name.len()..];
            before.ends_with(w)
                && !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    [
        "fn", "struct", "enum", "trait", "type", "mod", "const", "static",
    ]
    .iter()
    .any(|w| word(w))
        || text.lines().any(|line| {
            // `pub use a::b::{c, d as e};`: what it names in this module.
            let Some(used) = line.trim_start().strip_prefix("pub use ") else {
                return false;
            };
            let last = used.rsplit("::").next().unwrap_or(used);
            last.split([',', '{', '}', ';'])
                .map(|item| item.split(" as ").last().unwrap_or(item).trim())
                .any(|item| item == name)
        })
}

#[test]
fn every_path_module_type_and_function_a_doc_names_exists() {
    let repository = repository();
    let defined = defined_names();
    let mut missing = Vec::new();
    for (file, text) in docs() {
        let doc = file.file_name().unwrap().to_string_lossy().to_string();
        for span in spans(&text) {
            let span = span.trim();
            let found = if is_path(span) {
                path_exists(span, &repository)
            } else if span.contains("::") {
                FOREIGN_PATHS.iter().any(|p| span.starts_with(p))
                    || span == "crate::"
                    || rust_path_exists(span, &defined)
            } else if let Some(name) = span.strip_suffix("()") {
                !is_ident(name) || defined.contains(name) || FOREIGN_FUNCTIONS.contains(&name)
            } else if span.len() > 2
                && span.starts_with(|c: char| c.is_ascii_uppercase())
                && span.chars().all(|c| c.is_ascii_alphanumeric())
                && span.chars().any(|c| c.is_ascii_lowercase())
                && span.chars().skip(1).any(|c| c.is_ascii_uppercase())
            {
                FOREIGN_TYPES.contains(&span) || defined.contains(span)
            } else {
                true
            };
            if !found {
                missing.push(format!("{doc}: `{span}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs name what does not exist:\n{}",
        missing.join("\n")
    );
}

/// The literal parts of the key names the schema builds: the hash-tag
/// kinds (`u`, `login`, …) and the suffixes (`sessions`, `s`, …).
fn schema_key_parts() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut tags = BTreeSet::new();
    let mut suffixes = BTreeSet::new();
    for file in [
        "src/connections/redis/key_schema.rs",
        "crates/authd-guard/src/authd_redis.rs",
        "crates/authd-guard/src/dpop.rs",
    ] {
        let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
        // The code before the unit tests, whose keys are examples.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for call in code.split("format!(").skip(1) {
            let Some(literal) = call.trim_start().strip_prefix('"') else {
                continue;
            };
            let literal = literal.split('"').next().unwrap();
            let literal = literal.replace("{{", "\u{1}").replace("}}", "\u{2}");
            // Placeholders go; what is left is literal text.
            let mut text = String::new();
            let mut depth = 0;
            for c in literal.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        text.push('\u{3}');
                    }
                    _ if depth == 0 => text.push(c),
                    _ => {}
                }
            }
            let text = text.replace('\u{1}', "{").replace('\u{2}', "}");
            collect_parts(&text, &mut tags, &mut suffixes);
        }
        // Suffixes joined as bytes (`ack_key`: `b":ack"`).
        for literal in code.split("b\":").skip(1) {
            let word = literal.split('"').next().unwrap();
            collect_parts(&format!(":{word}"), &mut tags, &mut suffixes);
        }
    }
    (tags, suffixes)
}

/// Adds the tag kinds and literal suffix words of one key pattern; any
/// character outside `[a-z_]` separates words.
fn collect_parts(pattern: &str, tags: &mut BTreeSet<String>, suffixes: &mut BTreeSet<String>) {
    if let Some((_, after)) = pattern.split_once('{') {
        if let Some((tag, _)) = after.split_once(':') {
            if tag.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !tag.is_empty() {
                tags.insert(tag.to_string());
            }
        }
    }
    let tail = match pattern.rsplit_once('}') {
        Some((_, tail)) => tail,
        None => pattern,
    };
    for word in tail.split(':') {
        if !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            suffixes.insert(word.to_string());
        }
    }
}

#[test]
fn every_redis_key_kind_in_the_docs_is_one_the_schema_builds_and_the_reverse() {
    let (schema_tags, schema_suffixes) = schema_key_parts();
    let sessions = std::fs::read_to_string(Path::new(ROOT).join("docs/sessions.md")).unwrap();
    let (mut doc_tags, mut doc_suffixes) = (BTreeSet::new(), BTreeSet::new());
    let mut unknown = Vec::new();
    for span in spans(&sessions) {
        // `P{u:U}:s:S`: P the prefix, capitals the variable parts.
        let Some(pattern) = span.strip_prefix('P').filter(|p| p.starts_with('{')) else {
            continue;
        };
        let (mut tags, mut suffixes) = (BTreeSet::new(), BTreeSet::new());
        collect_parts(pattern, &mut tags, &mut suffixes);
        for tag in &tags {
            if !schema_tags.contains(tag) {
                unknown.push(format!(
                    "`{span}`: no key of the schema has the tag {{{tag}:…}}"
                ));
            }
        }
        for suffix in &suffixes {
            if !schema_suffixes.contains(suffix) {
                unknown.push(format!("`{span}`: no key of the schema has `:{suffix}`"));
            }
        }
        doc_tags.extend(tags);
        doc_suffixes.extend(suffixes);
    }
    assert!(unknown.is_empty(), "{}", unknown.join("\n"));
    let untold: Vec<_> = schema_tags
        .difference(&doc_tags)
        .map(|t| format!("{{{t}:…}}"))
        .chain(
            schema_suffixes
                .difference(&doc_suffixes)
                .map(|s| format!(":{s}")),
        )
        .collect();
    assert!(
        untold.is_empty(),
        "key kinds the schema builds and docs/sessions.md does not list: {untold:?}"
    );
}

#[test]
fn the_checks_catch_a_planted_false_path() {
    let repository = repository();
    let defined = defined_names();
    assert!(path_exists(
        "src/connections/redis/key_schema.rs",
        &repository
    ));
    assert!(!path_exists(
        "src/connections/redis/liveness.rs",
        &repository
    ));
    assert!(rust_path_exists(
        "connections::redis::script::Call",
        &defined
    ));
    assert!(!rust_path_exists("connections::redis::liveness", &defined));
    assert!(!rust_path_exists("Redis::worker_connection", &defined));
    assert!(rust_path_exists("http::routes::login::login", &defined));
}
