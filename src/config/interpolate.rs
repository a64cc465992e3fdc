//! `${VAR}` interpolation in every string of the configuration (`$${` is a literal `${`).

use crate::error::AuthError;
use serde_json::Value;

/// Replaces `${VAR}` in every string of `value` using `lookup`.
///
/// # Errors
/// `config_error` naming the variable and the JSON path when a variable is undefined or a
/// `${` is not closed. An undefined variable is never an empty string.
pub fn interpolate(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    path: &mut Vec<String>,
) -> Result<(), AuthError> {
    match value {
        Value::String(text) if text.contains('$') => {
            *text = expand(text, lookup).map_err(|problem| {
                AuthError::config(format!("{problem} at `{}`", json_path(path)))
                    .with_hint("export the variable, or write `$${` for a literal `${`")
            })?;
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                path.push(format!("[{index}]"));
                interpolate(item, lookup, path)?;
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                path.push(key.clone());
                interpolate(item, lookup, path)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// `a.b[2].c` from its segments.
fn json_path(segments: &[String]) -> String {
    let mut out = String::new();
    for segment in segments {
        if !out.is_empty() && !segment.starts_with('[') {
            out.push('.');
        }
        out.push_str(segment);
    }
    out
}

/// Expands one string.
fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| "unterminated `${` in a string".to_string())?;
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`${{{name}}}` is not a valid variable name"));
            }
            let value = lookup(name)
                .ok_or_else(|| format!("environment variable `{name}` is not defined"))?;
            out.push_str(&value);
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "DEV_KEY").then(|| "abc".to_string())
    }

    #[test]
    fn replaces_defined_variables_and_keeps_escapes() {
        assert_eq!(expand("x-${DEV_KEY}-y", &env).unwrap(), "x-abc-y");
        assert_eq!(
            expand("$${DEV_KEY} costs $5", &env).unwrap(),
            "${DEV_KEY} costs $5"
        );
    }

    #[test]
    fn undefined_variable_names_it_and_its_path() {
        let mut value = serde_json::json!({"environments": {"dev": {"apiKey": "${NOPE}"}}});
        let err = interpolate(&mut value, &env, &mut Vec::new()).unwrap_err();
        assert!(err.message().contains("`NOPE`"), "{}", err.message());
        assert!(err.message().contains("environments.dev.apiKey"));
    }
}
