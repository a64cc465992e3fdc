//! JSON text to a `serde_json::Value`, refusing an object that names a key twice: in the
//! configuration, `{"method": "api-key", …, "method": "oauth"}` would otherwise mean the
//! last value, silently, while a reader of the file sees the first.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Parses `text` as [`serde_json::from_str`] does, except that a key repeated in one object
/// is an error carrying its line and column.
///
/// # Errors
/// The syntax error, or `duplicate key \`NAME\``, positioned where it was found.
pub fn from_str(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict::deserialize(&mut de)?.0;
    de.end()?;
    Ok(value)
}

/// The JSON path of the first repeated key in `text` (`authentication.storage`), for the
/// error that [`from_str`] gave; `None` when the text has none.
pub fn duplicate_path(text: &str) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let err = serde_path_to_error::deserialize::<_, Strict>(&mut de).err()?;
    let message = err.inner().to_string();
    let key = message.strip_prefix("duplicate key `")?.split('`').next()?;
    Some(match err.path().to_string().as_str() {
        "." => key.to_string(),
        object => format!("{object}.{key}"),
    })
}

/// A `Value` built by a visitor that checks each object's keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Strict::deserialize(deserializer).map(|strict| strict.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if fields.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    crate::config::load::shown_key(&key)
                )));
            }
            let Strict(value) = map.next_value()?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        let text = r#"{"a": [1, -2, 3.5, true, null, "x"], "b": {"c": {}}}"#;
        assert_eq!(
            from_str(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn a_repeated_key_is_an_error_at_its_place() {
        let text = "{\"authentication\": {\n  \"method\": \"api-key\",\n  \"method\": \"oauth\"}}";
        let err = from_str(text).unwrap_err();
        assert!(err.to_string().contains("duplicate key `method`"), "{err}");
        assert_eq!(err.line(), 3);
        assert_eq!(
            duplicate_path(text).as_deref(),
            Some("authentication.method")
        );
        assert_eq!(duplicate_path(r#"{"a": 1, "a": 2}"#).as_deref(), Some("a"));
        // The same name in different objects is fine.
        assert!(from_str(r#"{"a": {"x": 1}, "b": {"x": 2}}"#).is_ok());
        assert!(from_str(r#"{"a": 1} trailing"#).is_err());
    }
}
