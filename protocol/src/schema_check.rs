//! Test support: checks a serialized value against a definition in the Codex app-server schema.
//!
//! The workspace may not depend on a JSON Schema validator here (the crate keeps to serde,
//! serde_json and schemars), so this is a small one that covers what Codex's bundle uses:
//! `$ref`, `allOf`/`anyOf`/`oneOf`, `type`, `enum`, `required`, `properties`, `items` and
//! `additionalProperties`. When the bundle is absent (a checkout without `shared/`), every check
//! prints a note and passes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The v2 bundle, which holds every shared definition.
const BUNDLE: &str = "codex_app_server_protocol.v2.schemas.json";

fn bundle() -> Option<&'static Value> {
    schema_file(BUNDLE)
}

/// A schema file of the Codex reference, parsed once; `None` (with a note) when absent.
pub(crate) fn schema_file(file: &str) -> Option<&'static Value> {
    static FILES: OnceLock<Mutex<HashMap<String, Option<&'static Value>>>> = OnceLock::new();
    let mut files = FILES.get_or_init(Default::default).lock().unwrap();
    *files.entry(file.to_string()).or_insert_with(|| {
        let path = codex_reference_dir().join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(Box::leak(Box::new(
                serde_json::from_str(&text).expect("Codex schema is JSON"),
            ))),
            Err(_) => {
                eprintln!(
                    "note: {} absent; Codex schema check skipped",
                    path.display()
                );
                None
            }
        }
    })
}

/// Asserts `value` is valid against the schema file `file` as a whole (for the standalone files
/// such as `v1/InitializeResponse.json`), or against its definition `name`.
pub(crate) fn assert_matches_file(file: &str, name: Option<&str>, value: &Value) {
    let Some(root) = schema_file(file) else {
        return;
    };
    let schema = match name {
        Some(n) => definition(root, n),
        None => root,
    };
    let mut errors = Vec::new();
    validate(root, schema, value, file, &mut errors);
    assert!(
        errors.is_empty(),
        "{file} {name:?} does not match:\n  {}\nvalue: {value:#}",
        errors.join("\n  ")
    );
}

/// `shared/reference/codex-app-server/` beside the workspace.
pub(crate) fn codex_reference_dir() -> PathBuf {
    crate::reference::reference_dir("codex-app-server")
}

fn definition<'a>(bundle: &'a Value, name: &str) -> &'a Value {
    bundle["definitions"]
        .get(name)
        .unwrap_or_else(|| panic!("Codex schema has no definition {name}"))
}

/// Asserts `value` is valid against Codex definition `name`: every required property present,
/// with the JSON type and enum values the schema allows (recursively).
pub(crate) fn assert_required_fields(name: &str, value: &Value) {
    let Some(bundle) = bundle() else { return };
    let mut errors = Vec::new();
    validate(bundle, definition(bundle, name), value, name, &mut errors);
    assert!(
        errors.is_empty(),
        "{name} does not match the Codex schema:\n  {}\nvalue: {value:#}",
        errors.join("\n  ")
    );
}

/// Like [`assert_required_fields`], against the `oneOf` branch of `name` whose `type` is `tag`
/// (which must exist: the variant name must be one Codex allows).
pub(crate) fn assert_required_in_variant(name: &str, tag: &str, value: &Value) {
    let Some(bundle) = bundle() else { return };
    let branches = definition(bundle, name)["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is not a oneOf"));
    let branch = branches
        .iter()
        .find(|b| b["properties"]["type"]["enum"][0] == tag)
        .unwrap_or_else(|| panic!("Codex {name} has no variant {tag:?}"));
    let mut errors = Vec::new();
    validate(bundle, branch, value, &format!("{name}.{tag}"), &mut errors);
    assert!(
        errors.is_empty(),
        "{name}.{tag} does not match the Codex schema:\n  {}\nvalue: {value:#}",
        errors.join("\n  ")
    );
}

fn validate(bundle: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        return; // `true` / `{}`: anything goes
    };
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        validate(bundle, definition(bundle, name), value, path, errors);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            validate(bundle, s, value, path, errors);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let mut why = Vec::new();
            let ok = options.iter().any(|s| {
                let mut e = Vec::new();
                validate(bundle, s, value, path, &mut e);
                why.extend(e.iter().cloned());
                e.is_empty()
            });
            if !ok {
                errors.push(format!(
                    "{path}: matches no {key} branch ({})",
                    why.join("; ")
                ));
            }
        }
    }
    if let Some(t) = schema.get("type") {
        let allowed: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !allowed.iter().any(|t| has_type(value, t)) {
            errors.push(format!("{path}: {value} is not of type {allowed:?}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            errors.push(format!("{path}: {value} not in {options:?}"));
        }
    }
    if let Value::Object(map) = value {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for field in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(field) {
                    errors.push(format!("{path}: required field {field:?} missing"));
                }
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in map {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(bundle, s, v, &format!("{path}.{k}"), errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        errors.push(format!("{path}: unexpected field {k:?}"))
                    }
                    Some(s @ Value::Object(_)) => {
                        validate(bundle, s, v, &format!("{path}.{k}"), errors)
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            validate(bundle, s, v, &format!("{path}[{i}]"), errors);
        }
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}
