//! The folders of `src/` are the layers of `docs/architecture.md`: this
//! reads every `crate::…` path in the library and checks that each points
//! down, never up or sideways into another store, and that route files do
//! not reach into each other.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules by layer, top first. A module may use its own layer's
/// code only within itself (no store imports another store) and any layer
/// below.
const LAYERS: &[(&str, &[&str])] = &[
    ("wiring", &["app"]),
    ("HTTP", &["http"]),
    ("rules", &["auth"]),
    (
        "stores",
        &[
            "sessions",
            "users",
            "throttle",
            "jwt",
            "factors",
            "federation",
        ],
    ),
    // Below the stores, so a store can queue a mail in its own transaction.
    ("mail outbox", &["mail"]),
    ("connections", &["connections"]),
    ("shared pieces", &["common", "settings_section"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first segment after every `crate::` in `code`, including each
/// item of a `use crate::{a, b::c}` group.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        // `$crate::` in a macro points at the macro's own module.
        if code[..at].ends_with('$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

/// The code of a file without its comments and its unit tests, which may
/// reach anywhere.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_import_points_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(own) = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .filter(|top| !top.ends_with(".rs"))
        else {
            continue; // lib.rs and main.rs stand above the layers
        };
        let own_layer = layer_of(own)
            .unwrap_or_else(|| panic!("src/{own}/ is in no layer: add it to LAYERS and the docs"));
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for used in crate_modules(&code) {
            checked += 1;
            if used == own {
                continue;
            }
            match layer_of(&used) {
                Some(layer) if layer > own_layer => {}
                Some(layer) => wrong.push(format!(
                    "src/{} ({}) uses crate::{used} ({})",
                    relative.display(),
                    LAYERS[own_layer].0,
                    LAYERS[layer].0
                )),
                None => wrong.push(format!(
                    "src/{} uses crate::{used}, which is in no layer",
                    relative.display()
                )),
            }
        }
    }
    assert!(checked > 60, "the scan found only {checked} imports");
    assert!(
        wrong.is_empty(),
        "imports that do not point down:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn route_files_do_not_import_each_other() {
    let routes = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/routes");
    let mut files = Vec::new();
    rust_files(&routes, &mut files);
    assert!(files.len() > 3);
    for file in files {
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        assert!(
            !code.contains("routes::") && !code.contains("super::"),
            "{} reaches into another route file",
            file.display()
        );
    }
}

#[test]
fn the_scan_sees_groups_and_skips_macro_paths() {
    let found =
        crate_modules("use crate::{auth::Auth, jwt};\nlet x = $crate::common::y; crate::http::f()");
    let found: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, ["auth", "http", "jwt"]);
}

/// The guard crate's modules import one another without a cycle: each can
/// be read (and moved) knowing only those it uses.
#[test]
fn the_guard_crates_modules_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/authd-guard/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let module_of = |file: &Path| {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap();
        first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string()
    };
    let mut edges: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for file in &files {
        let own = module_of(file);
        if own == "lib" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let uses = edges.entry(own.clone()).or_default();
        uses.extend(crate_modules(&code).into_iter().filter(|m| *m != own));
    }
    assert!(edges.len() > 10, "{edges:?}");
    // Depth-first search for a back edge.
    fn visit(
        module: &str,
        edges: &std::collections::BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_string());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for next in edges.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        if let Some(cycle) = visit(module, &edges, &mut Vec::new(), &mut done) {
            panic!("an import cycle: {}", cycle.join(" -> "));
        }
    }
}

/// The rules know no HTTP framework: `auth` takes plain values (what a
/// request presented, the client) and is tested without a server.
#[test]
fn the_rules_use_no_http_framework_type() {
    let auth = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/auth");
    let mut files = Vec::new();
    rust_files(&auth, &mut files);
    assert!(files.len() > 5);
    for file in files {
        let code = code_of(&std::fs::read_to_string(&file).unwrap());
        assert!(
            !code.contains("actix") && !code.contains("HttpRequest"),
            "{} uses an HTTP framework type",
            file.display()
        );
    }
}
