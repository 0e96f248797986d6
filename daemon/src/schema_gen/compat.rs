//! The compatibility snapshot: what protocol version N has published, so that a change that
//! takes something away from it is caught before a client finds out.
//!
//! `schema/compat/protocol-v<N>.json` lists every method of the three unions and, for every
//! type, its field names, its enum values and its variants (with their fields). `make schema`
//! merges the current surface into it, so within one version it only grows: adding a field or a
//! method is fine, and a removal stays recorded until `PROTOCOL_VERSION` is bumped (which starts
//! a new snapshot). `tests/tests/schema_fresh.rs` fails when the current surface lacks anything
//! the snapshot of the current version lists.
//!
//! Requiredness and field types are not tracked: the snapshot answers "can a client still find
//! what it used", not "is every value still valid".

use std::collections::BTreeSet;

use agentd_protocol::schema::{ref_name, ProtocolSchema, UnionKind};
use serde_json::{json, Map, Value};

/// `protocol-v1.json` for version `"1"`.
pub fn snapshot_file_name(version: &str) -> String {
    format!("protocol-v{version}.json")
}

/// The published surface of `schema`, in the snapshot's format.
pub fn surface(schema: &ProtocolSchema) -> Value {
    let methods: Map<String, Value> = UnionKind::ALL
        .iter()
        .map(|kind| {
            let names: BTreeSet<&str> = schema
                .methods(*kind)
                .iter()
                .map(|m| m.method.as_str())
                .collect();
            (kind.name().to_string(), json!(names))
        })
        .collect();
    let types: Map<String, Value> = schema
        .definitions
        .iter()
        .map(|(name, def)| (name.clone(), members(def)))
        .collect();
    json!({
        "protocolVersion": schema.version,
        "methods": methods,
        "types": types,
    })
}

/// A definition's `fields`, `values` and `variants` (each present only when non-empty).
fn members(def: &Value) -> Value {
    let mut out = Map::new();
    let fields = field_names(def);
    if !fields.is_empty() {
        out.insert("fields".into(), json!(fields));
    }
    let mut values = literal_values(def);
    let mut variants = Map::new();
    for key in ["oneOf", "anyOf"] {
        for branch in def.get(key).and_then(Value::as_array).into_iter().flatten() {
            let literals = literal_values(branch);
            if !literals.is_empty() && branch.get("properties").is_none() {
                values.extend(literals);
                continue;
            }
            variants.insert(variant_key(branch), json!(field_names(branch)));
        }
    }
    if !values.is_empty() {
        out.insert("values".into(), json!(values));
    }
    if !variants.is_empty() {
        out.insert("variants".into(), Value::Object(variants));
    }
    Value::Object(out)
}

/// Property names of an object schema, including those of inline `allOf` parts (not of
/// referenced types: those are tracked under their own name).
fn field_names(schema: &Value) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        names.extend(field_names(part));
    }
    names
}

/// `const` / `enum` values, as text (strings bare, anything else as JSON).
fn literal_values(schema: &Value) -> BTreeSet<String> {
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    };
    let mut out: BTreeSet<String> = schema
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    if let Some(c) = schema.get("const") {
        out.insert(text(c));
    }
    out
}

/// How a union branch is known: its `type` tag, else the type it refers to, else its JSON type.
fn variant_key(branch: &Value) -> String {
    if let Some(tag) = branch
        .pointer("/properties/type")
        .map(literal_values)
        .filter(|t| t.len() == 1)
    {
        return tag.into_iter().next().unwrap_or_default();
    }
    if let Some(name) = ref_name(branch) {
        return name.to_string();
    }
    match branch.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => other.to_string(),
        None => branch.to_string(),
    }
}

/// Everything `old` lists that `new` lacks, as readable paths (`types.Thread.fields: lastSeq`).
pub fn missing(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    missing_at(old, new, "", &mut out);
    out
}

fn missing_at(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (key, value) in o {
                match n.get(key) {
                    Some(next) => missing_at(value, next, &join(key), out),
                    None => out.push(join(key)),
                }
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            for item in o.iter().filter(|i| !n.contains(i)) {
                let item = item.as_str().map(str::to_owned).unwrap_or(item.to_string());
                out.push(format!("{path}: {item}"));
            }
        }
        (o, n) if o != n => out.push(format!("{path}: {o} (now {n})")),
        _ => {}
    }
}

/// `old` and `new` together: objects by key, lists as sorted sets, other values from `new`.
pub fn merge(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut out = o.clone();
            for (key, value) in n {
                let merged = match o.get(key) {
                    Some(prev) => merge(prev, value),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(o), Value::Array(n)) => {
            let mut items: Vec<Value> = o.clone();
            items.extend(n.iter().filter(|i| !o.contains(i)).cloned());
            items.sort_by_key(|v| v.as_str().map(str::to_owned).unwrap_or(v.to_string()));
            Value::Array(items)
        }
        (_, n) => n.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surface_lists_fields_values_variants_and_methods() {
        let s = surface(&ProtocolSchema::generate());
        assert_eq!(s["protocolVersion"], agentd_protocol::PROTOCOL_VERSION);
        let fields = s["types"]["Thread"]["fields"].as_array().unwrap();
        assert!(fields.contains(&json!("lastSeq")));
        assert!(s["types"]["AskForApproval"]["values"]
            .as_array()
            .unwrap()
            .contains(&json!("on-failure")));
        assert_eq!(
            s["types"]["SandboxPolicy"]["variants"]["readOnly"],
            json!(["networkAccess", "type"])
        );
        assert_eq!(
            s["types"]["ThreadItem"]["variants"]["agentMessage"],
            json!(["type"])
        );
        assert_eq!(
            s["types"]["RequestId"]["variants"],
            json!({"integer": [], "string": []})
        );
        assert!(s["methods"]["ClientRequest"]
            .as_array()
            .unwrap()
            .contains(&json!("thread/start")));
        assert_eq!(
            s["methods"]["ServerRequest"],
            json!([
                "item/commandExecution/requestApproval",
                "item/fileChange/requestApproval",
                "mcpServer/elicitation/request"
            ])
        );
    }

    #[test]
    fn a_lost_field_method_or_value_is_missing_an_added_one_is_not() {
        let old = json!({"protocolVersion": "1", "methods": {"ClientRequest": ["a", "b"]},
                         "types": {"T": {"fields": ["x", "y"]}, "U": {"values": ["p"]}}});
        let added = json!({"protocolVersion": "1", "methods": {"ClientRequest": ["a", "b", "c"]},
                           "types": {"T": {"fields": ["x", "y", "z"]}, "U": {"values": ["p", "q"]},
                                     "V": {}}});
        assert!(missing(&old, &added).is_empty());
        let lost = json!({"protocolVersion": "1", "methods": {"ClientRequest": ["a"]},
                          "types": {"T": {"fields": ["y"]}}});
        assert_eq!(
            missing(&old, &lost),
            vec![
                "methods.ClientRequest: b".to_string(),
                "types.T.fields: x".to_string(),
                "types.U".to_string()
            ]
        );
    }

    #[test]
    fn merge_only_grows() {
        let old = json!({"types": {"T": {"fields": ["x", "y"]}}, "protocolVersion": "1"});
        let new = json!({"types": {"T": {"fields": ["a", "y"]}, "U": {}}, "protocolVersion": "1"});
        let merged = merge(&old, &new);
        assert_eq!(
            merged,
            json!({"types": {"T": {"fields": ["a", "x", "y"]}, "U": {}}, "protocolVersion": "1"})
        );
        assert!(missing(&old, &merged).is_empty());
        assert!(missing(&new, &merged).is_empty());
    }
}
