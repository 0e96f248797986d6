//! The published schema of the protocol, as values: every type's JSON Schema definition and the
//! three method unions (client requests, server notifications, server requests), built from the
//! method tables in [`crate::methods`] and [`crate::notification`].
//!
//! Nothing here touches the file system: `agentd generate-json-schema` and `agentd generate-ts`
//! (in the daemon) lay these values out as files under `schema/`. Generation is deterministic:
//! definitions are kept in a `BTreeMap` and every JSON object comes out with sorted keys, so the
//! same types always give byte-identical files.
//!
//! The schemas describe what agentd *writes* (schemars' serialize contract): a field that is
//! always written is `required`, even when the daemon would also accept it absent. A client that
//! writes values of these shapes is always understood, because every type reads back what it
//! writes.

use std::collections::{BTreeMap, BTreeSet};

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::jsonrpc::{Message, RequestId};
use crate::params::initialize::PROTOCOL_VERSION;

/// The JSON Schema dialect of every generated file (the one Codex's app-server schema uses).
pub const JSON_SCHEMA_DIALECT: &str = "http://json-schema.org/draft-07/schema#";

/// Where definitions live inside a schema document.
pub const DEFINITIONS_PREFIX: &str = "#/definitions/";

/// A Rust type of the protocol, by the name the method tables give it, with a way to add its
/// schema to a generator.
#[derive(Clone, Copy)]
pub struct TypeSpec {
    /// The name as written in the method table. Usually the schema name; for a type alias
    /// (`ThreadResumeResponse = ThreadStartResponse`) it is the alias, published as a definition
    /// of its own that refers to the target.
    pub name: &'static str,
    subschema: fn(&mut SchemaGenerator) -> Schema,
}

impl TypeSpec {
    pub const fn of<T: JsonSchema>(name: &'static str) -> TypeSpec {
        TypeSpec {
            name,
            subschema: subschema_for::<T>,
        }
    }
}

impl std::fmt::Debug for TypeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

fn subschema_for<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// A method and its types: `result` is `None` for notifications.
#[derive(Debug, Clone, Copy)]
pub struct MethodSpec {
    pub method: &'static str,
    pub params: TypeSpec,
    pub result: Option<TypeSpec>,
}

/// Which of the three method unions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnionKind {
    ClientRequest,
    ServerNotification,
    ServerRequest,
}

impl UnionKind {
    pub const ALL: [UnionKind; 3] = [
        UnionKind::ClientRequest,
        UnionKind::ServerNotification,
        UnionKind::ServerRequest,
    ];

    /// The union's name: its definition, file and TypeScript type.
    pub fn name(self) -> &'static str {
        match self {
            UnionKind::ClientRequest => "ClientRequest",
            UnionKind::ServerNotification => "ServerNotification",
            UnionKind::ServerRequest => "ServerRequest",
        }
    }

    /// Whether messages of this union carry an `id` (requests) and get a result.
    pub fn is_request(self) -> bool {
        !matches!(self, UnionKind::ServerNotification)
    }

    /// A one-line description for the generated files.
    pub fn description(self) -> &'static str {
        match self {
            UnionKind::ClientRequest => {
                "Every request a client may send to agentd, tagged by `method` (any other method \
                 is answered with -32601)."
            }
            UnionKind::ServerNotification => {
                "Every notification agentd sends to clients, tagged by `method`."
            }
            UnionKind::ServerRequest => {
                "Every request agentd sends to clients (approvals), tagged by `method`."
            }
        }
    }

    fn specs(self) -> &'static [MethodSpec] {
        match self {
            UnionKind::ClientRequest => crate::methods::CLIENT_METHOD_SPECS,
            UnionKind::ServerNotification => crate::notification::SERVER_NOTIFICATION_SPECS,
            UnionKind::ServerRequest => crate::methods::SERVER_REQUEST_SPECS,
        }
    }
}

/// Types published beside the method types: the JSON-RPC envelope.
const EXTRA_TYPES: &[TypeSpec] = &[
    TypeSpec::of::<Message>("JSONRPCMessage"),
    TypeSpec::of::<RequestId>("RequestId"),
];

/// A method with the names of its params and result definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodTypes {
    pub method: String,
    pub params: String,
    /// `None` for notifications.
    pub result: Option<String>,
}

/// The whole published schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolSchema {
    /// [`PROTOCOL_VERSION`].
    pub version: &'static str,
    /// Every named type, by name; `$ref`s point at `#/definitions/NAME`. Keys are sorted at
    /// every level.
    pub definitions: BTreeMap<String, Value>,
    /// The method unions, methods in declaration order.
    pub unions: BTreeMap<UnionKind, Vec<MethodTypes>>,
}

impl ProtocolSchema {
    /// Generates the schema of every type reachable from the method tables.
    pub fn generate() -> ProtocolSchema {
        let mut generator = SchemaSettings::draft07().for_serialize().into_generator();
        let mut aliases: BTreeMap<String, String> = BTreeMap::new();
        let mut named = |generator: &mut SchemaGenerator, spec: &TypeSpec| -> String {
            let schema = (spec.subschema)(generator);
            let target = ref_name(schema.as_value())
                .unwrap_or_else(|| panic!("{} has no schema definition of its own", spec.name));
            if target != spec.name {
                let previous = aliases.insert(spec.name.to_string(), target.to_string());
                assert!(
                    previous.is_none_or(|p| p == target),
                    "{} names two types",
                    spec.name
                );
            }
            spec.name.to_string()
        };
        let mut unions = BTreeMap::new();
        for kind in UnionKind::ALL {
            let methods = kind
                .specs()
                .iter()
                .map(|spec| MethodTypes {
                    method: spec.method.to_string(),
                    params: named(&mut generator, &spec.params),
                    result: spec.result.map(|r| named(&mut generator, &r)),
                })
                .collect();
            unions.insert(kind, methods);
        }
        for spec in EXTRA_TYPES {
            named(&mut generator, spec);
        }
        let mut definitions: BTreeMap<String, Value> = generator
            .take_definitions(true)
            .into_iter()
            .map(|(name, schema)| (name, sort_keys(schema)))
            .collect();
        for (alias, target) in aliases {
            let description = format!("The same shape as `{target}`.");
            let previous = definitions.insert(
                alias.clone(),
                json!({"allOf": [{"$ref": format!("{DEFINITIONS_PREFIX}{target}")}],
                       "description": description}),
            );
            assert!(previous.is_none(), "alias {alias} shadows a type");
        }
        for kind in UnionKind::ALL {
            assert!(
                !definitions.contains_key(kind.name()),
                "a protocol type is named {}, like a method union",
                kind.name()
            );
        }
        ProtocolSchema {
            version: PROTOCOL_VERSION,
            definitions,
            unions,
        }
    }

    /// The methods of one union.
    pub fn methods(&self, kind: UnionKind) -> &[MethodTypes] {
        &self.unions[&kind]
    }

    /// The union's schema (without `definitions`): `oneOf` one object per method,
    /// `{method: "<name>", id: RequestId, params: <Params>}` (no `id` for notifications).
    pub fn union_schema(&self, kind: UnionKind) -> Value {
        let branches: Vec<Value> = self
            .methods(kind)
            .iter()
            .map(|m| {
                let mut properties = Map::new();
                properties.insert(
                    "method".into(),
                    json!({"type": "string", "enum": [m.method]}),
                );
                properties.insert("params".into(), json!({"$ref": def_ref(&m.params)}));
                let mut required = vec!["method", "params"];
                if kind.is_request() {
                    properties.insert("id".into(), json!({"$ref": def_ref("RequestId")}));
                    required.insert(0, "id");
                }
                json!({
                    "type": "object",
                    "title": format!("{}Message", m.method),
                    "properties": properties,
                    "required": required,
                })
            })
            .collect();
        sort_keys(json!({
            "title": kind.name(),
            "description": kind.description(),
            "oneOf": branches,
        }))
    }

    /// The names of the definitions `schema` refers to, directly or through other definitions.
    pub fn dependencies(&self, schema: &Value) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut queue: Vec<String> = Vec::new();
        collect_refs(schema, &mut queue);
        while let Some(name) = queue.pop() {
            if found.insert(name.clone()) {
                let def = self
                    .definitions
                    .get(&name)
                    .unwrap_or_else(|| panic!("dangling $ref to {name}"));
                collect_refs(def, &mut queue);
            }
        }
        found
    }

    /// A standalone schema document: `schema` with `$schema`, `title` and the definitions it
    /// needs.
    pub fn document(&self, title: &str, schema: &Value) -> Value {
        let mut doc = schema.as_object().cloned().unwrap_or_else(|| {
            // A boolean schema (`true`): any JSON value.
            Map::new()
        });
        doc.insert("$schema".into(), json!(JSON_SCHEMA_DIALECT));
        doc.insert("title".into(), json!(title));
        let deps = self.dependencies(schema);
        if !deps.is_empty() {
            let defs: Map<String, Value> = deps
                .into_iter()
                .map(|name| {
                    let def = self.definitions[&name].clone();
                    (name, def)
                })
                .collect();
            doc.insert("definitions".into(), Value::Object(defs));
        }
        sort_keys(Value::Object(doc))
    }

    /// One document holding every definition, the unions included.
    pub fn bundle(&self) -> Value {
        let mut defs: Map<String, Value> = self
            .definitions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for kind in UnionKind::ALL {
            defs.insert(kind.name().into(), self.union_schema(kind));
        }
        sort_keys(json!({
            "$schema": JSON_SCHEMA_DIALECT,
            "title": "AgentdProtocol",
            "description": format!(
                "agentd protocol v{}: every type, and the method unions ClientRequest, \
                 ServerNotification and ServerRequest.",
                self.version
            ),
            "type": "object",
            "definitions": defs,
        }))
    }
}

/// `#/definitions/NAME`.
pub fn def_ref(name: &str) -> String {
    format!("{DEFINITIONS_PREFIX}{name}")
}

/// The definition a schema that is only a `$ref` points at.
pub fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix(DEFINITIONS_PREFIX)
}

fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => {
                        let name = r
                            .strip_prefix(DEFINITIONS_PREFIX)
                            .unwrap_or_else(|| panic!("$ref outside definitions: {r}"));
                        out.push(name.to_string());
                    }
                    // Property names and enum values are data, not schemas; neither holds a $ref
                    // key, so walking them is harmless.
                    _ => collect_refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// `value` with the keys of every object in sorted order (whatever map serde_json uses).
pub fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Pretty JSON with a trailing newline: the form of every generated `.json` file.
pub fn to_pretty_json(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sort_keys(value.clone()))
        .expect("a JSON value always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::{CLIENT_METHODS, SERVER_REQUEST_METHODS};
    use crate::notification::SERVER_NOTIFICATION_METHODS;

    #[test]
    fn unions_list_every_method_in_order() {
        let schema = ProtocolSchema::generate();
        for (kind, names) in [
            (UnionKind::ClientRequest, CLIENT_METHODS),
            (UnionKind::ServerNotification, SERVER_NOTIFICATION_METHODS),
            (UnionKind::ServerRequest, SERVER_REQUEST_METHODS),
        ] {
            let listed: Vec<&str> = schema
                .methods(kind)
                .iter()
                .map(|m| m.method.as_str())
                .collect();
            assert_eq!(listed, names, "{kind:?}");
            for m in schema.methods(kind) {
                assert!(schema.definitions.contains_key(&m.params), "{m:?}");
                assert_eq!(m.result.is_some(), kind.is_request(), "{m:?}");
                if let Some(r) = &m.result {
                    assert!(schema.definitions.contains_key(r), "{m:?}");
                }
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        let a = ProtocolSchema::generate();
        let b = ProtocolSchema::generate();
        assert_eq!(to_pretty_json(&a.bundle()), to_pretty_json(&b.bundle()));
    }

    #[test]
    fn aliases_refer_to_their_target() {
        let schema = ProtocolSchema::generate();
        let resume = &schema.definitions["ThreadResumeResponse"];
        assert_eq!(
            resume["allOf"][0]["$ref"],
            json!("#/definitions/ThreadStartResponse")
        );
        let start = schema
            .methods(UnionKind::ClientRequest)
            .iter()
            .find(|m| m.method == "thread/resume")
            .unwrap();
        assert_eq!(start.result.as_deref(), Some("ThreadResumeResponse"));
    }

    #[test]
    fn union_branches_are_tagged_by_method() {
        let schema = ProtocolSchema::generate();
        let u = schema.union_schema(UnionKind::ClientRequest);
        let first = &u["oneOf"][0];
        assert_eq!(first["properties"]["method"]["enum"], json!(["initialize"]));
        assert_eq!(
            first["properties"]["params"]["$ref"],
            json!("#/definitions/InitializeParams")
        );
        assert_eq!(first["required"], json!(["id", "method", "params"]));
        let n = schema.union_schema(UnionKind::ServerNotification);
        assert_eq!(n["oneOf"][0]["required"], json!(["method", "params"]));
        assert!(n["oneOf"][0]["properties"].get("id").is_none());
    }

    #[test]
    fn documents_carry_exactly_their_dependencies() {
        let schema = ProtocolSchema::generate();
        let doc = schema.document(
            "TurnStartResponse",
            &schema.definitions["TurnStartResponse"],
        );
        let defs = doc["definitions"].as_object().unwrap();
        assert!(defs.contains_key("Turn"));
        assert!(defs.contains_key("ThreadItem"));
        assert!(!defs.contains_key("Thread"));
        assert_eq!(doc["title"], "TurnStartResponse");
        assert_eq!(doc["$schema"], JSON_SCHEMA_DIALECT);
        let status = schema.document("TurnStatus", &schema.definitions["TurnStatus"]);
        assert!(status.get("definitions").is_none());
    }

    #[test]
    fn keys_are_sorted_at_every_level() {
        let v = sort_keys(json!({"b": {"z": 1, "a": [{"y": 1, "x": 2}]}, "a": 0}));
        assert_eq!(
            to_pretty_json(&v),
            "{\n  \"a\": 0,\n  \"b\": {\n    \"a\": [\n      {\n        \"x\": 2,\n        \
             \"y\": 1\n      }\n    ],\n    \"z\": 1\n  }\n}\n"
        );
    }
}
