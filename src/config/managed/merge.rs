//! The merge rules of managed settings, on JSON before typing, so errors still name files
//! and paths:
//!
//! - managed files among themselves: objects merge key by key, a later file (in name order)
//!   replaces any other value;
//! - managed over the user's configuration: every value the managed files set wins, except
//!   that a managed `false` is a floor, not a ceiling (every boolean in the managed blocks
//!   turns a protection on, so the user may still turn it on); lists (`ipRestrictions`,
//!   `mfa.methods`) and numbers are replaced, never combined with the user's;
//! - a managed `authentication.method` brings its `fallback` with it (absent = none): a user
//!   `fallback` would reopen the door the method closed.

use serde_json::{Map, Value};

/// The managed files' blocks merged in order, later files winning per key.
pub fn merge_layers(layers: Vec<Value>) -> Value {
    let mut merged = Value::Object(Map::new());
    for layer in layers {
        deep_merge(&mut merged, layer);
    }
    merged
}

fn deep_merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(base), Value::Object(top)) => {
            for (key, value) in top {
                deep_merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// Lays the managed blocks over the user's parsed configuration (a JSON object).
pub fn overlay(user: &mut Value, managed: &Value) {
    let Some(blocks) = managed.as_object() else {
        return;
    };
    let user = object_at(user);
    for (key, value) in blocks {
        let slot = user.entry(key.clone()).or_insert(Value::Null);
        if key == "authentication" {
            pin_method(slot, value);
        } else {
            lay(slot, value);
        }
    }
}

/// `authentication.method` and `fallback`: a managed method fixes the fallback too.
fn pin_method(user: &mut Value, managed: &Value) {
    let user = object_at(user);
    match managed.get("method").filter(|m| !m.is_null()) {
        Some(method) => {
            user.insert("method".into(), method.clone());
            let fallback = managed.get("fallback").cloned().unwrap_or(Value::Null);
            user.insert("fallback".into(), fallback);
        }
        None => {
            if let Some(fallback) = managed.get("fallback").filter(|f| !f.is_null()) {
                user.insert("fallback".into(), fallback.clone());
            }
        }
    }
}

fn lay(user: &mut Value, managed: &Value) {
    match managed {
        Value::Null => {}
        Value::Object(fields) => {
            let user = object_at(user);
            for (key, value) in fields {
                lay(user.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        // A floor: the user may have turned the protection on.
        Value::Bool(false) if user.is_boolean() => {}
        other => *user = other.clone(),
    }
}

/// `value` as an object, replacing whatever else was there (a user's `"security": null`).
fn object_at(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    value.as_object_mut().expect("made an object above")
}

/// The dotted paths the managed blocks fix, sorted: every leaf they set, except `false`
/// and `null` (which fix nothing), and `authentication.fallback` whenever the method is set.
pub fn settled_paths(managed: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    collect(managed, "", &mut paths);
    let method_set = managed
        .pointer("/authentication/method")
        .is_some_and(|m| !m.is_null());
    if method_set && !paths.iter().any(|p| p == "authentication.fallback") {
        paths.push("authentication.fallback".to_string());
    }
    paths.sort();
    paths
}

fn collect(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                collect(inner, &child, out);
            }
        }
        Value::Null | Value::Bool(false) => {}
        _ => out.push(path.to_string()),
    }
}
