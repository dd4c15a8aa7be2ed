//! How a setting is declared: once, next to the code it configures, for
//! authd and for the guard resource servers run (`authd-guard`) alike.
//!
//! Each component declares its own section with [`settings_section!`]: per
//! variable its field, type, `AUTHD_*` name, default, parser and doc text.
//! From that one declaration come the parsing (with an error naming the
//! variable), the default, and the docs ([`markdown_table`],
//! [`env_example_lines`]: a program's `--help`, `.env.example` and README
//! or docs table are rendered from them, and tests keep the committed
//! copies equal).
//!
//! The parsers below are the shared vocabulary: each takes the text of one
//! variable and answers a value or the reason it is wrong, without echoing
//! the value (it may be a secret).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A string that must never be printed: Debug shows a placeholder, and
/// there is no Display.
#[derive(Clone, Default, serde::Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One `AUTHD_*` variable, as its declaration describes it.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    /// The text used when the variable is unset or empty.
    pub default: Option<&'static str>,
    /// The doc comment's lines: what it does, for operators.
    pub doc: &'static [&'static str],
    /// The section heading it belongs to.
    pub section: &'static str,
}

impl Variable {
    /// The doc text on one line.
    pub fn text(&self) -> String {
        self.doc
            .iter()
            .map(|line| line.trim())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A setting (or what it points at: a key file, a database, a listen
/// address) that keeps authd from starting, named for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: &str, reason: impl Into<String>) -> Self {
        Self {
            variable: variable.to_string(),
            reason: reason.into(),
        }
    }
}

/// Every setting that keeps a program from starting, in the order found,
/// so that one start reports them all. Displayed one a line: the first as
/// a single error reads (`AUTHD_X: reason`), each further one indented
/// below it.
#[derive(Debug)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// The errors, in the order found (never empty).
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    /// The first error found.
    pub fn first(&self) -> Option<&ConfigError> {
        self.0.first()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, error) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str("\n  ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        Self(vec![error])
    }
}

/// Gathers what is wrong while reading settings, to report it all at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<ConfigError>);

impl Problems {
    /// The value, or `None` with its errors noted.
    pub fn take<T, E: Into<ConfigErrors>>(&mut self, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(errors) => {
                self.0.extend(errors.into().0);
                None
            }
        }
    }

    /// Notes an error found by a check of several settings together.
    pub fn push(&mut self, error: ConfigError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Everything noted: `Ok` when nothing was.
    pub fn finish(self) -> Result<(), ConfigErrors> {
        match self.0.is_empty() {
            true => Ok(()),
            false => Err(ConfigErrors(self.0)),
        }
    }

    /// Everything noted, for a caller that is missing a value: an error
    /// (saying so) even if, wrongly, nothing was.
    pub fn into_errors(self) -> ConfigErrors {
        match self.0.is_empty() {
            true => ConfigErrors::from(ConfigError::new("settings", "a setting could not be read")),
            false => ConfigErrors(self.0),
        }
    }
}

/// The `AUTHD_*` variables that are set and not empty (an empty value means
/// unset, as in most `.env` files).
pub struct Vars(HashMap<String, String>);

impl Vars {
    pub fn new<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        Self(
            vars.into_iter()
                .filter(|(k, v)| k.starts_with("AUTHD_") && !v.is_empty())
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The names that are set.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The variable's value (or its default) through its parser, as the
    /// field's type wants it: a value, or an `Option` for one that may be
    /// unset.
    pub fn parse<T: Field<U>, U>(
        &self,
        name: &'static str,
        default: Option<&'static str>,
        parse: fn(&str) -> Result<U, String>,
    ) -> Result<T, ConfigError> {
        let parsed = self
            .get(name)
            .or(default)
            .map(parse)
            .transpose()
            .map_err(|reason| ConfigError::new(name, reason))?;
        T::from_parsed(parsed).map_err(|reason| ConfigError::new(name, reason))
    }
}

/// A field filled from a parsed variable: required (`T`) or optional
/// (`Option<T>`).
pub trait Field<U>: Sized {
    fn from_parsed(value: Option<U>) -> Result<Self, String>;
}

impl<U> Field<U> for U {
    fn from_parsed(value: Option<U>) -> Result<Self, String> {
        value.ok_or_else(|| "is required but not set".to_string())
    }
}

impl<U> Field<U> for Option<U> {
    fn from_parsed(value: Option<U>) -> Result<Self, String> {
        Ok(value)
    }
}

/// The default of a declaration, `[]` or `["text"]`.
pub const fn default_of(declared: &'static [&'static str]) -> Option<&'static str> {
    match declared {
        [value] => Some(value),
        _ => None,
    }
}

/// Declares a section of settings: a struct with one field per variable,
/// its `VARIABLES` (for help and docs) and `read` (parse with defaults).
///
/// ```ignore
/// settings_section! {
///     /// Where authd listens.
///     pub struct Server in "server" {
///         /// Listen address; port 0 picks a free port.
///         pub bind: SocketAddr = "AUTHD_BIND" ["127.0.0.1:8080"] => address;
///         /// Optional: no default, an `Option` field.
///         pub metrics_bind: Option<SocketAddr> = "AUTHD_METRICS_BIND" [] => address;
///     }
/// }
/// ```
#[macro_export]
macro_rules! settings_section {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident in $title:literal {
            $(
                $(#[doc = $doc:literal])+
                pub $field:ident : $ty:ty = $var:literal [$($default:literal)?] => $parse:expr;
            )+
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            $(
                $(#[doc = $doc])+
                #[doc = concat!("\n\n`", $var, "`")]
                pub $field: $ty,
            )+
        }

        impl $name {
            /// The variables of this section, in the order of the docs.
            pub const VARIABLES: &'static [$crate::Variable] = &[
                $(
                    $crate::Variable {
                        name: $var,
                        default: $crate::default_of(&[$($default)?]),
                        doc: &[$($doc),+],
                        section: $title,
                    },
                )+
            ];

            /// Each variable through its parser, defaults applied; every
            /// variable that is wrong is reported, not only the first.
            pub fn read(
                vars: &$crate::Vars,
            ) -> Result<Self, $crate::ConfigErrors> {
                let mut problems = $crate::Problems::default();
                $(
                    let $field = problems.take(vars.parse(
                        $var,
                        $crate::default_of(&[$($default)?]),
                        $parse,
                    ));
                )+
                match ($($field,)+) {
                    ($(Some($field),)+) => Ok(Self { $($field,)+ }),
                    _ => Err(problems.into_errors()),
                }
            }
        }
    };
}

/// Lifetimes beyond ten years are typos, and would overflow the millisecond
/// arithmetic of tokens and Redis expiries.
const TEN_YEARS_SECS: u64 = 10 * 365 * 24 * 3600;

/// Any text, as given.
pub fn text(value: &str) -> Result<String, String> {
    Ok(value.to_string())
}

/// A secret: never printed, never echoed in an error.
pub fn secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::new(value))
}

/// A file path.
pub fn path(value: &str) -> Result<PathBuf, String> {
    match value.trim() {
        "" => Err("is empty".into()),
        path => Ok(PathBuf::from(path)),
    }
}

/// Comma-separated file paths.
pub fn paths(value: &str) -> Result<Vec<PathBuf>, String> {
    Ok(list(value).map(PathBuf::from).collect())
}

/// An address and port, such as `127.0.0.1:8080`.
pub fn address(value: &str) -> Result<SocketAddr, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not an address and port like 127.0.0.1:8080"))
}

/// A whole number of the field's type (0 allowed).
pub fn count<T: FromStr>(value: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not a whole number in range"))
}

/// A whole number greater than 0.
pub fn positive<T: FromStr + PartialEq + From<u8>>(value: &str) -> Result<T, String> {
    let n: T = count(value)?;
    if n == T::from(0) {
        return Err("must be greater than 0".into());
    }
    Ok(n)
}

/// Seconds, 0 allowed, at most ten years.
pub fn seconds(value: &str) -> Result<Duration, String> {
    let secs: u64 = count(value)?;
    if secs > TEN_YEARS_SECS {
        return Err("is more than ten years".into());
    }
    Ok(Duration::from_secs(secs))
}

/// Seconds, more than 0, at most ten years.
pub fn positive_seconds(value: &str) -> Result<Duration, String> {
    match seconds(value)? {
        d if d.is_zero() => Err("must be greater than 0".into()),
        d => Ok(d),
    }
}

/// Milliseconds, more than 0, at most ten years.
pub fn positive_millis(value: &str) -> Result<Duration, String> {
    let ms: u64 = positive(value)?;
    if ms / 1000 > TEN_YEARS_SECS {
        return Err("is more than ten years".into());
    }
    Ok(Duration::from_millis(ms))
}

/// `true` or `false`.
pub fn flag(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err("must be `true` or `false`".into()),
    }
}

/// The items of a comma-separated list, trimmed, empty ones skipped.
pub fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// Secrets shorter than this are refused wherever a shared secret is set.
pub const MIN_SECRET_BYTES: usize = 32;

/// Comma-separated secrets, each at least [`MIN_SECRET_BYTES`].
pub fn secrets(value: &str) -> Result<Vec<Secret>, String> {
    let all: Vec<Secret> = list(value).map(Secret::new).collect();
    match all.iter().position(|s| s.expose().len() < MIN_SECRET_BYTES) {
        Some(short) => Err(format!(
            "secret #{} is shorter than {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -base64 48`)",
            short + 1
        )),
        None => Ok(all),
    }
}

/// The contents of the file a setting names, read now (CA certificates):
/// `None` when unset, an error naming `variable` when unreadable.
pub fn read_file(
    variable: &str,
    path: Option<&std::path::Path>,
) -> Result<Option<Vec<u8>>, ConfigError> {
    path.map(|path| {
        std::fs::read(path)
            .map_err(|e| ConfigError::new(variable, format!("cannot read {}: {e}", path.display())))
    })
    .transpose()
}

/// Comma-separated `label:secret` pairs, each secret at least
/// [`MIN_SECRET_BYTES`], each label letters, digits, `-` or `_`.
pub fn labelled_secrets(value: &str) -> Result<Vec<(String, Secret)>, String> {
    let mut all = Vec::new();
    for (n, item) in list(value).enumerate() {
        let Some((label, secret)) = item.split_once(':') else {
            return Err(format!("entry #{} is not `label:secret`", n + 1));
        };
        let label = label.trim();
        if label.is_empty()
            || !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "entry #{}: a label is letters, digits, `-` or `_`",
                n + 1
            ));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "entry #{} ({label}): the secret is shorter than {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -base64 48`)",
                n + 1
            ));
        }
        all.push((label.to_string(), Secret::new(secret)));
    }
    Ok(all)
}

/// A Markdown table of `variables`: name, default, meaning (the README's
/// settings, docs/clients.md's for the guard).
pub fn markdown_table<'a>(variables: impl IntoIterator<Item = &'a Variable>) -> String {
    let mut text = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for var in variables {
        let default = match var.default {
            Some("") | None => String::new(),
            Some(value) => format!("`{value}`"),
        };
        text.push_str(&format!(
            "| `{}` | {default} | {} |\n",
            var.name,
            var.text().replace('|', "\\|")
        ));
    }
    text
}

/// Each variable as `.env` lines: its doc wrapped in comments, then
/// `NAME=default`, a `# --- section ---` line where a section starts.
pub fn env_example_lines<'a>(variables: impl IntoIterator<Item = &'a Variable>) -> String {
    let mut text = String::new();
    let mut section = "";
    for var in variables {
        if var.section != section {
            section = var.section;
            text.push_str(&format!("\n# --- {section} ---\n"));
        }
        for line in wrap(&var.text(), 78) {
            text.push_str(&format!("# {line}\n"));
        }
        text.push_str(&format!("{}={}\n", var.name, var.default.unwrap_or("")));
    }
    text
}

/// Each variable as a program's `--help` shows it: `NAME [default]`, then
/// its doc wrapped and indented, under a heading where a section starts.
pub fn help_lines<'a>(variables: impl IntoIterator<Item = &'a Variable>) -> String {
    let mut text = String::new();
    let mut section = "";
    for var in variables {
        if var.section != section {
            if !section.is_empty() {
                text.push('\n');
            }
            section = var.section;
            text.push_str(&format!("{section}:\n"));
        }
        text.push_str(&format!("  {} [{}]\n", var.name, var.default.unwrap_or("")));
        for line in wrap(&var.text(), 72) {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text
}

/// Words of `text` in lines of at most `width` characters (a longer word
/// stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    settings_section! {
        /// A section to test the declaration itself.
        pub struct Sample in "sample" {
            /// A number with a default.
            pub limit: u32 = "AUTHD_SAMPLE_LIMIT" ["5"] => positive;
            /// An optional path.
            pub file: Option<PathBuf> = "AUTHD_SAMPLE_FILE" [] => path;
        }
    }

    fn vars(list: &[(&str, &str)]) -> Vars {
        Vars::new(list.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn a_declaration_gives_parsing_defaults_and_docs() {
        let s = Sample::read(&vars(&[])).unwrap();
        assert_eq!(s.limit, 5);
        assert_eq!(s.file, None);
        let s = Sample::read(&vars(&[
            ("AUTHD_SAMPLE_LIMIT", "7"),
            ("AUTHD_SAMPLE_FILE", "/k.pem"),
        ]))
        .unwrap();
        assert_eq!(s.limit, 7);
        assert_eq!(s.file, Some(PathBuf::from("/k.pem")));
        let e = Sample::read(&vars(&[("AUTHD_SAMPLE_LIMIT", "0")])).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e.first().unwrap().variable, "AUTHD_SAMPLE_LIMIT");
        assert_eq!(Sample::VARIABLES.len(), 2);
        assert_eq!(Sample::VARIABLES[0].default, Some("5"));
        assert_eq!(Sample::VARIABLES[1].default, None);
        assert_eq!(Sample::VARIABLES[1].text(), "An optional path.");
        assert_eq!(Sample::VARIABLES[1].section, "sample");
    }

    #[test]
    fn every_wrong_variable_is_reported_one_a_line() {
        let e = Sample::read(&vars(&[
            ("AUTHD_SAMPLE_LIMIT", "zero"),
            ("AUTHD_SAMPLE_FILE", "  "),
        ]))
        .unwrap_err();
        let named: Vec<&str> = e.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(named, ["AUTHD_SAMPLE_LIMIT", "AUTHD_SAMPLE_FILE"]);
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("AUTHD_SAMPLE_LIMIT: "), "{text}");
        assert!(lines[1].starts_with("  AUTHD_SAMPLE_FILE: "), "{text}");
    }

    #[test]
    fn an_empty_value_means_unset() {
        let s = Sample::read(&vars(&[("AUTHD_SAMPLE_LIMIT", "")])).unwrap();
        assert_eq!(s.limit, 5);
    }
}
