//! What a client is told about a body of the wrong shape: which field is
//! missing or of the wrong type, by its name and path (`password`,
//! `credential.response.clientDataJSON`), never its value (it may be a
//! password). serde's own text quotes the value, so it is never passed on;
//! only the field's name and, for a wrong type, what the field takes.

use serde::de::DeserializeOwned;
use serde_path_to_error::{Path, Segment};

/// A JSON body as `T`, or the sentence saying what to fix.
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| described(e.path(), e.inner()))?;
    // Trailing characters after the value, as serde_json::from_slice checks.
    deserializer.end().map_err(|e| not_json(&e))?;
    Ok(value)
}

/// A form body as `T`, or the sentence saying what to fix (forms are flat:
/// the field a missing one is named by serde is the whole path).
pub fn form<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        match missing_field(&e.to_string()).and_then(field_name) {
            Some(field) => format!("the field `{field}` is required"),
            None => "the form body is malformed".to_string(),
        }
    })
}

/// Where the JSON breaks (never what it says there).
fn not_json(error: &serde_json::Error) -> String {
    format!(
        "the body is not valid JSON (line {}, column {})",
        error.line(),
        error.column()
    )
}

fn described(path: &Path, error: &serde_json::Error) -> String {
    if !matches!(error.classify(), serde_json::error::Category::Data) {
        return not_json(error);
    }
    // serde_json appends the position; what serde said is before it.
    let text = error.to_string();
    let text = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(t, _)| t);
    let Some(at) = joined(path) else {
        return "a field of the body is missing or of the wrong type".to_string();
    };
    if let Some(field) = missing_field(text).and_then(field_name) {
        return match at.is_empty() {
            true => format!("the field `{field}` is required"),
            false => format!("the field `{at}.{field}` is required"),
        };
    }
    let takes = text
        .strip_prefix("invalid type: ")
        .and_then(|t| t.rsplit_once(", expected "))
        .map(|(_, expected)| what_it_takes(expected));
    match (at.is_empty(), takes) {
        (true, _) => "the body must be a JSON object".to_string(),
        (false, Some(takes)) => format!("the field `{at}` must be {takes}"),
        (false, None) => format!("the field `{at}` has a value it does not take"),
    }
}

/// serde's "missing field `name`": the name, which comes from the type
/// (never from the body).
fn missing_field(text: &str) -> Option<&str> {
    text.strip_prefix("missing field `")?.strip_suffix('`')
}

/// A name fit to quote: letters, digits, `_`, `-`, up to 64 of them
/// (anything else from a body is not repeated).
fn field_name(name: &str) -> Option<&str> {
    let fits = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    fits.then_some(name)
}

/// The path as `a.b[0].c`; `None` when a segment is not fit to quote.
fn joined(path: &Path) -> Option<String> {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(field_name(key)?);
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(field_name(variant)?);
            }
            Segment::Unknown => return None,
        }
    }
    Some(out)
}

/// serde's "expected …" in words for a client: types of authd's own are
/// JSON objects.
fn what_it_takes(expected: &str) -> &str {
    match expected {
        e if e.starts_with("struct ") || e == "a map" => "a JSON object",
        "a sequence" => "a JSON array",
        "a boolean" => "true or false",
        e if (e.starts_with('u') || e.starts_with('i')) && e[1..].parse::<u8>().is_ok() => {
            "a whole number"
        }
        "f32" | "f64" => "a number",
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
        #[serde(default)]
        device: Option<String>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
        list: Vec<String>,
    }

    fn said(body: &str) -> String {
        json::<Login>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_missing_or_ill_typed_field_is_named_and_its_value_never_repeated() {
        assert_eq!(
            said(r#"{"email": "a@b.co"}"#),
            "the field `password` is required"
        );
        let wrong = said(r#"{"email": "a@b.co", "password": 12345678}"#);
        assert_eq!(wrong, "the field `password` must be a string");
        let wrong = said(r#"{"email": "hunter2-secret", "password": {"x": "hunter2-secret"}}"#);
        assert_eq!(wrong, "the field `password` must be a string");
        assert_eq!(
            said(r#"{"email": "a@b.co", "password": "p", "inner": {"list": []}}"#),
            "the field `inner.count` is required"
        );
        let nested = said(
            r#"{"email": "a@b.co", "password": "p", "inner": {"count": "hunter2", "list": []}}"#,
        );
        assert_eq!(nested, "the field `inner.count` must be a whole number");
        assert_eq!(
            said(r#"{"email": "a@b.co", "password": "p", "inner": {"count": 1, "list": [1]}}"#),
            "the field `inner.list[0]` must be a string"
        );
        assert_eq!(
            said(r#"{"email": "a@b.co", "password": "p", "device": true}"#),
            "the field `device` must be a string"
        );
    }

    #[test]
    fn malformed_json_and_a_body_that_is_no_object_say_so() {
        assert!(said(r#"{"email": "#).starts_with("the body is not valid JSON"));
        assert!(
            said(r#"{"email": "a", "password": "b"} x"#).starts_with("the body is not valid JSON")
        );
        assert_eq!(said(r#"["hunter2"]"#), "the body must be a JSON object");
        assert_eq!(said(r#""hunter2""#), "the body must be a JSON object");
    }

    #[test]
    fn a_form_names_its_missing_field() {
        let said = form::<Login>(b"email=a%40b.co").unwrap_err();
        assert_eq!(said, "the field `password` is required");
    }
}
