//! The layout of `schema/json/`:
//!
//! - `<Type>.json` for every type: a standalone draft-07 schema with the definitions it needs;
//! - `ClientRequest.json`, `ServerNotification.json`, `ServerRequest.json`: the method unions,
//!   `oneOf` one `{method, id?, params}` object per method (as in Codex's app-server schema);
//! - `agentd_protocol.schemas.json`: every definition, unions included, in one bundle;
//! - `index.json`: the protocol version, every type, and each method's params and result types.

use std::collections::BTreeMap;

use agentd_protocol::schema::{to_pretty_json, ProtocolSchema, UnionKind};
use serde_json::{json, Map, Value};

/// The bundle's file name.
pub const BUNDLE: &str = "agentd_protocol.schemas.json";
/// The index's file name.
pub const INDEX: &str = "index.json";

/// Every file of `schema/json/`, by name.
pub fn files(schema: &ProtocolSchema) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for (name, def) in &schema.definitions {
        files.insert(
            format!("{name}.json"),
            to_pretty_json(&schema.document(name, def)),
        );
    }
    for kind in UnionKind::ALL {
        let doc = schema.document(kind.name(), &schema.union_schema(kind));
        let previous = files.insert(format!("{}.json", kind.name()), to_pretty_json(&doc));
        assert!(previous.is_none(), "{} is also a type", kind.name());
    }
    for special in [BUNDLE, INDEX] {
        assert!(
            !files.contains_key(special),
            "a type is named like {special}"
        );
    }
    files.insert(BUNDLE.into(), to_pretty_json(&schema.bundle()));
    files.insert(INDEX.into(), to_pretty_json(&index(schema)));
    files
}

/// `index.json`: what a client generator needs to find its way around the files.
fn index(schema: &ProtocolSchema) -> Value {
    let mut unions = Map::new();
    for kind in UnionKind::ALL {
        let methods: Map<String, Value> = schema
            .methods(kind)
            .iter()
            .map(|m| {
                let mut entry = json!({"params": m.params});
                if let Some(result) = &m.result {
                    entry["result"] = json!(result);
                }
                (m.method.clone(), entry)
            })
            .collect();
        unions.insert(kind.name().into(), Value::Object(methods));
    }
    json!({
        "protocolVersion": schema.version,
        "types": schema.definitions.keys().collect::<Vec<_>>(),
        "methods": unions,
        "bundle": BUNDLE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_per_type_plus_unions_bundle_and_index() {
        let schema = ProtocolSchema::generate();
        let files = files(&schema);
        assert_eq!(files.len(), schema.definitions.len() + 3 + 2);
        for name in [
            "Thread.json",
            "ClientRequest.json",
            "ServerNotification.json",
            "ServerRequest.json",
            BUNDLE,
            INDEX,
        ] {
            assert!(files.contains_key(name), "{name}");
        }
        assert!(files.values().all(|c| c.ends_with("}\n")));
        let index: Value = serde_json::from_str(&files[INDEX]).unwrap();
        assert_eq!(
            index["methods"]["ClientRequest"]["thread/start"],
            json!({"params": "ThreadStartParams", "result": "ThreadStartResponse"})
        );
        assert_eq!(
            index["methods"]["ServerNotification"]["turn/started"],
            json!({"params": "TurnStartedNotification"})
        );
        let union: Value = serde_json::from_str(&files["ServerRequest.json"]).unwrap();
        assert!(union["definitions"]["CommandExecutionRequestApprovalParams"].is_object());
        assert!(union["definitions"]["RequestId"].is_object());
    }
}
