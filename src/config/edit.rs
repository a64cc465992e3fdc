//! Changing one setting of the user's configuration file in place: the value's bytes are
//! replaced (or the member inserted) in the text itself, so every other key, its order, the
//! indentation and the `${VAR}` references stay exactly as the user wrote them.

use serde_json::Value;

/// Where a member of an object is in the text.
struct Member {
    /// The byte range of its value.
    value: std::ops::Range<usize>,
}

/// `text` with the string at the dotted `path` (e.g. `authentication.storage.type`) set to
/// `value`, creating the objects on the way when they are missing.
///
/// # Errors
/// Why the text cannot be edited: it is not a JSON object, or a parent on the path is not an
/// object.
pub fn set_string(text: &str, path: &[&str], value: &str) -> Result<String, String> {
    let parsed: Value =
        serde_json::from_str(text).map_err(|err| format!("it is not valid JSON ({err})"))?;
    if !parsed.is_object() {
        return Err("it is not a JSON object".to_string());
    }
    let quoted = Value::String(value.to_string()).to_string();
    let mut object_at = skip_ws(text, 0);
    for (depth, key) in path.iter().enumerate() {
        let last = depth + 1 == path.len();
        match find_member(text, object_at, key)? {
            Some(member) if last => {
                return Ok(splice(text, member.value, &quoted));
            }
            Some(member) => {
                if text.as_bytes().get(member.value.start) != Some(&b'{') {
                    return Err(format!("`{}` is not an object", path[..=depth].join(".")));
                }
                object_at = member.value.start;
            }
            None => {
                // Insert `"key": {"next": {… "last": value}}` as the object's first member.
                let mut inserted = quoted.clone();
                for inner in path[depth + 1..].iter().rev() {
                    inserted = format!("{{{}: {inserted}}}", Value::String((*inner).into()));
                }
                let member = format!("{}: {inserted}", Value::String((*key).into()));
                let after_brace = object_at + 1;
                let empty = text.as_bytes().get(skip_ws(text, after_brace)) == Some(&b'}');
                let insertion = if empty { member } else { format!("{member}, ") };
                // Keep the first member's indentation when the object spans lines.
                let first = skip_ws(text, after_brace);
                let at = if empty { after_brace } else { first };
                let insertion = if !empty && text[after_brace..first].contains('\n') {
                    let indent = &text[text[..first].rfind('\n').map_or(0, |n| n + 1)..first];
                    format!("{}\n{indent}", insertion.trim_end_matches(' ').trim_end())
                } else {
                    insertion
                };
                return Ok(splice(text, at..at, &insertion));
            }
        }
    }
    Err("an empty path".to_string())
}

fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

fn skip_ws(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

/// The end (exclusive) of the string starting with the quote at `at`.
fn string_end(text: &str, at: usize) -> Result<usize, String> {
    let bytes = text.as_bytes();
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err("an unterminated string".to_string())
}

/// The end (exclusive) of the value starting at `at`.
fn value_end(text: &str, at: usize) -> Result<usize, String> {
    let bytes = text.as_bytes();
    match bytes.get(at) {
        Some(b'"') => string_end(text, at),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(text, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Err("an unclosed object".to_string())
        }
        Some(_) => {
            let mut i = at;
            while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b']') {
                i += 1;
            }
            Ok(i)
        }
        None => Err("a missing value".to_string()),
    }
}

/// The member `key` of the object whose `{` is at `object_at` (the last one, as serde_json
/// keeps the last of duplicate keys).
fn find_member(text: &str, object_at: usize, key: &str) -> Result<Option<Member>, String> {
    let bytes = text.as_bytes();
    let mut i = skip_ws(text, object_at + 1);
    let mut found = None;
    while i < bytes.len() && bytes[i] != b'}' {
        let key_end = string_end(text, i)?;
        let name: String = serde_json::from_str(&text[i..key_end]).map_err(|e| e.to_string())?;
        let colon = skip_ws(text, key_end);
        let value_at = skip_ws(text, colon + 1);
        let end = value_end(text, value_at)?;
        if name == key {
            found = Some(Member {
                value: value_at..end,
            });
        }
        i = skip_ws(text, end);
        if bytes.get(i) == Some(&b',') {
            i = skip_ws(text, i + 1);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: [&str; 3] = ["authentication", "storage", "type"];

    fn at_path(text: &str) -> Value {
        let value: Value = serde_json::from_str(text).unwrap();
        value["authentication"]["storage"]["type"].clone()
    }

    #[test]
    fn an_existing_value_is_replaced_and_nothing_else_moves() {
        let text = "{\n  \"model\": \"x\",\n  \"authentication\": {\"storage\": {\"type\": \"keychain\", \"encryptionKey\": \"user-derived-key\"}},\n  \"apiKey\": \"${KEY}\"\n}\n";
        let out = set_string(text, &PATH, "encrypted-file").unwrap();
        assert_eq!(
            out,
            text.replace("\"type\": \"keychain\"", "\"type\": \"encrypted-file\"")
        );
    }

    #[test]
    fn missing_objects_are_created() {
        let out = set_string("{}", &PATH, "keychain").unwrap();
        assert_eq!(at_path(&out), "keychain");
        let out = set_string("{\"model\": \"m\"}", &PATH, "keychain").unwrap();
        assert_eq!(at_path(&out), "keychain");
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["model"], "m");
        let text = "{\n  \"authentication\": {\n    \"timeout\": 5\n  }\n}";
        let out = set_string(text, &PATH, "encrypted-file").unwrap();
        assert_eq!(at_path(&out), "encrypted-file");
        assert!(
            out.contains("\n    \"storage\": {\"type\": \"encrypted-file\"},\n    \"timeout\": 5"),
            "{out}"
        );
    }

    #[test]
    fn strings_with_braces_and_escapes_do_not_confuse_it() {
        let text = r#"{"x": "}\"{", "authentication": {"storage": {"type": "keychain"}}}"#;
        let out = set_string(text, &PATH, "encrypted-file").unwrap();
        assert_eq!(at_path(&out), "encrypted-file");
        assert!(out.starts_with(r#"{"x": "}\"{", "#));
    }

    #[test]
    fn a_non_object_on_the_path_is_refused() {
        assert!(set_string(r#"{"authentication": 3}"#, &PATH, "keychain").is_err());
        assert!(set_string("[1]", &PATH, "keychain").is_err());
        assert!(set_string("{", &PATH, "keychain").is_err());
    }
}
