//! The converter itself: one JSON Schema (a definition, or any schema inside one) to one
//! TypeScript type, collecting the definitions it refers to. The table in the parent module's
//! docs lists what it accepts; anything else is refused.

use std::collections::BTreeSet;

use agentd_protocol::schema::DEFINITIONS_PREFIX;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};

use super::{description, doc_comment, property_key, sep, JSON_VALUE};

/// Keywords that only annotate or constrain values TypeScript cannot express; dropped.
const IGNORED: &[&str] = &[
    "$schema",
    "title",
    "default",
    "examples",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Keywords the converter understands.
const HANDLED: &[&str] = &[
    "$ref",
    "allOf",
    "anyOf",
    "oneOf",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "description",
];

/// A `const` or `enum` value as a TypeScript literal type (JSON literals are valid ones).
fn literal(v: &Value) -> String {
    v.to_string()
}

#[derive(Default)]
pub(super) struct Converter {
    /// Definitions referred to, to import.
    pub(super) imports: BTreeSet<String>,
}

impl Converter {
    /// The TypeScript type of `schema`. `indent` is the indentation of the line the type starts
    /// on; a type spanning several lines indents its inner lines from there. A multi-line union
    /// starts with a newline.
    pub(super) fn ts_type(&mut self, schema: &Value, indent: usize) -> Result<String> {
        let map = match schema {
            Value::Bool(true) => return Ok(self.json_value()),
            Value::Bool(false) => return Ok("never".into()),
            Value::Object(map) => map,
            other => bail!("not a schema: {other}"),
        };
        if let Some(key) = map
            .keys()
            .find(|k| !HANDLED.contains(&k.as_str()) && !IGNORED.contains(&k.as_str()))
        {
            bail!("unsupported JSON Schema keyword {key:?} in {schema}");
        }
        // The parts of an intersection: the schema's own shape, then its `allOf` members, then
        // its `oneOf`/`anyOf` union.
        let mut parts: Vec<String> = Vec::new();
        if let Some(r) = map.get("$ref") {
            parts.push(self.reference(r)?);
        }
        if let Some(c) = map.get("const") {
            parts.push(literal(c));
        } else if let Some(values) = map.get("enum") {
            let values = values.as_array().context("enum is not a list")?;
            parts.push(values.iter().map(literal).collect::<Vec<_>>().join(" | "));
        } else if let Some(t) = map.get("type") {
            parts.push(self.typed(map, t, indent)?);
        } else if map.contains_key("properties") {
            parts.push(self.object(map, indent)?);
        }
        if let Some(all) = map.get("allOf") {
            for part in all.as_array().context("allOf is not a list")? {
                parts.push(self.ts_type(part, indent)?);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = map.get(key) {
                let branches = branches
                    .as_array()
                    .with_context(|| format!("{key} is not a list"))?;
                parts.push(self.union(branches, indent)?);
            }
        }
        Ok(match parts.len() {
            0 => self.json_value(),
            1 => parts.pop().unwrap_or_default(),
            _ => parts
                .iter()
                .map(|p| {
                    if p.contains(" | ") || p.starts_with('\n') {
                        format!("({})", p.trim_start())
                    } else {
                        p.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" & "),
        })
    }

    fn json_value(&mut self) -> String {
        self.imports.insert(JSON_VALUE.into());
        JSON_VALUE.into()
    }

    fn reference(&mut self, r: &Value) -> Result<String> {
        let r = r.as_str().context("$ref is not a string")?;
        let name = r
            .strip_prefix(DEFINITIONS_PREFIX)
            .ok_or_else(|| anyhow!("$ref {r:?} is not a definition"))?;
        self.imports.insert(name.to_string());
        Ok(name.to_string())
    }

    /// A `type` keyword: one JSON type or a list of them.
    fn typed(&mut self, map: &Map<String, Value>, t: &Value, indent: usize) -> Result<String> {
        let names: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().context("type list holds a non-string"))
                .collect::<Result<_>>()?,
            other => bail!("type is {other}"),
        };
        let mut out = Vec::new();
        for name in names {
            out.push(match name {
                "string" => "string".to_string(),
                "integer" | "number" => "number".to_string(),
                "boolean" => "boolean".to_string(),
                "null" => "null".to_string(),
                "array" => self.array(map, indent)?,
                "object" => self.object(map, indent)?,
                other => bail!("unknown JSON type {other:?}"),
            });
        }
        Ok(out.join(" | "))
    }

    fn array(&mut self, map: &Map<String, Value>, indent: usize) -> Result<String> {
        let item = match map.get("items") {
            None => self.json_value(),
            Some(Value::Array(_)) => bail!("tuple arrays (items: [..]) are not supported"),
            Some(items) => self.ts_type(items, indent)?,
        };
        Ok(format!("Array<{}>", item.trim_start()))
    }

    fn object(&mut self, map: &Map<String, Value>, indent: usize) -> Result<String> {
        let properties = map.get("properties").and_then(Value::as_object);
        let additional = map.get("additionalProperties");
        match (properties, additional) {
            (Some(props), None | Some(Value::Bool(_))) if !props.is_empty() => {
                self.object_literal(map, props, indent)
            }
            (Some(props), Some(_)) if !props.is_empty() => {
                bail!("properties together with an additionalProperties schema")
            }
            (_, Some(Value::Bool(true))) => {
                Ok(format!("{{ [key: string]: {} }}", self.json_value()))
            }
            (_, Some(Value::Bool(false))) | (_, None) => Ok("Record<string, never>".into()),
            (_, Some(value_schema)) => {
                let value = self.ts_type(value_schema, indent)?;
                Ok(format!("{{ [key: string]: {} }}", value.trim_start()))
            }
        }
    }

    fn object_literal(
        &mut self,
        map: &Map<String, Value>,
        props: &Map<String, Value>,
        indent: usize,
    ) -> Result<String> {
        let required: BTreeSet<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if let Some(unknown) = required.iter().find(|r| !props.contains_key(**r)) {
            bail!("required field {unknown:?} has no property schema");
        }
        // A lone tag property (`{ type: "x" }`) stays on one line.
        if props.len() == 1 {
            let (name, schema) = props.iter().next().expect("one property");
            if description(schema).is_none() && required.contains(name.as_str()) {
                let ty = self.ts_type(schema, indent)?;
                if !ty.contains('\n') {
                    return Ok(format!("{{ {}: {ty} }}", property_key(name)));
                }
            }
        }
        let pad = " ".repeat(indent + 2);
        let mut out = String::from("{\n");
        for (name, schema) in props {
            out.push_str(&doc_comment(description(schema), indent + 2));
            let ty = self.ts_type(schema, indent + 2)?;
            let optional = if required.contains(name.as_str()) {
                ""
            } else {
                "?"
            };
            out.push_str(&format!(
                "{pad}{}{optional}:{}{ty};\n",
                property_key(name),
                sep(&ty)
            ));
        }
        out.push_str(&" ".repeat(indent));
        out.push('}');
        Ok(out)
    }

    /// `A | B`, one branch per line (with its doc comment) when any branch is an object or
    /// documented.
    fn union(&mut self, branches: &[Value], indent: usize) -> Result<String> {
        let mut types = Vec::new();
        for branch in branches {
            types.push((self.ts_type(branch, indent + 2)?, description(branch)));
        }
        let one_line = types
            .iter()
            .all(|(t, doc)| doc.is_none() && !t.contains('{') && !t.contains('\n'));
        if one_line {
            return Ok(types
                .into_iter()
                .map(|(t, _)| t)
                .collect::<Vec<_>>()
                .join(" | "));
        }
        let pad = " ".repeat(indent + 2);
        let mut out = String::new();
        for (ty, doc) in types {
            out.push('\n');
            out.push_str(doc_comment(doc, indent + 2).trim_end_matches('\n'));
            if doc.is_some() {
                out.push('\n');
            }
            out.push_str(&format!("{pad}| {}", ty.trim_start()));
        }
        Ok(out)
    }
}
