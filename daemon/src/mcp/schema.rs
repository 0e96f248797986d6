//! An MCP tool's input schema, made acceptable as a function's parameters: providers want an
//! object schema (`type: object` with `properties`), and a server may send anything. What is
//! fixed is the top level only; the rest is passed through as the server wrote it.

use serde_json::{Map, Value};

/// A schema larger than this is replaced by an empty object schema: it is sent with every
/// model request, and a server must not be able to make every request megabytes.
pub const MAX_SCHEMA_BYTES: usize = 32 * 1024;
/// Characters of a tool's description sent to the model.
pub const MAX_DESCRIPTION_CHARS: usize = 2048;

/// The parameters schema for the model, and whether it had to be replaced entirely.
pub fn for_model(input: &Map<String, Value>) -> (Value, bool) {
    let size = serde_json::to_string(input).map_or(usize::MAX, |s| s.len());
    if size > MAX_SCHEMA_BYTES {
        return (empty(), true);
    }
    let mut schema = input.clone();
    // Draft markers and ids mean nothing to a provider and some reject them.
    schema.remove("$schema");
    schema.remove("$id");
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {}
        // An object schema that forgot to say so.
        None if !schema.contains_key("anyOf") && !schema.contains_key("oneOf") => {
            schema.insert("type".into(), Value::String("object".into()));
        }
        // A non-object top level cannot be a function's parameters.
        _ => return (empty(), true),
    }
    if !schema.get("properties").is_some_and(Value::is_object) {
        schema.insert("properties".into(), Value::Object(Map::new()));
    }
    (Value::Object(schema), false)
}

fn empty() -> Value {
    let mut schema = Map::new();
    schema.insert("type".into(), Value::String("object".into()));
    schema.insert("properties".into(), Value::Object(Map::new()));
    Value::Object(schema)
}

/// A description cut to [`MAX_DESCRIPTION_CHARS`].
pub fn description(text: Option<&str>) -> String {
    let text = text.unwrap_or("");
    match text.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn missing_type_and_properties_are_added() {
        let (s, replaced) = for_model(&obj(json!({"properties": {"x": {"type": "string"}}})));
        assert!(!replaced);
        assert_eq!(s["type"], "object");
        assert_eq!(s["properties"]["x"]["type"], "string");
        let (s, _) = for_model(&obj(json!({"type": "object"})));
        assert_eq!(s["properties"], json!({}));
    }

    #[test]
    fn draft_markers_go_and_the_rest_stays() {
        let (s, _) = for_model(&obj(json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"a": {"type": "integer", "minimum": 1}},
            "required": ["a"],
            "additionalProperties": false
        })));
        assert!(s.get("$schema").is_none());
        assert_eq!(s["required"], json!(["a"]));
        assert_eq!(s["properties"]["a"]["minimum"], 1);
        assert_eq!(s["additionalProperties"], false);
    }

    #[test]
    fn a_non_object_or_huge_schema_is_replaced() {
        let (s, replaced) = for_model(&obj(json!({"type": "string"})));
        assert!(replaced);
        assert_eq!(s, empty());
        let big = "x".repeat(MAX_SCHEMA_BYTES);
        let (s, replaced) = for_model(&obj(json!({"type": "object", "description": big})));
        assert!(replaced);
        assert_eq!(s, empty());
    }

    #[test]
    fn long_descriptions_are_cut() {
        let long = "é".repeat(MAX_DESCRIPTION_CHARS + 10);
        let cut = description(Some(&long));
        assert_eq!(cut.chars().count(), MAX_DESCRIPTION_CHARS + 1);
    }
}
