//! Codex's published schema (`shared/reference/codex-app-server/`) as validators, for the tests
//! of the methods agentd shares with Codex: which response type Codex declares for a method, and
//! whether a value agentd sent validates against it (a real JSON Schema validator). Also the
//! admin and control tokens the tests of Codex's admin-only methods need.

// Each test module uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

pub fn reference_dir() -> PathBuf {
    agentd_protocol::reference::reference_dir("codex-app-server")
}

pub fn read_json(file: &str) -> Value {
    let path = reference_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every v2 definition of Codex, in one bundle.
fn bundle() -> &'static Value {
    static BUNDLE: OnceLock<Value> = OnceLock::new();
    BUNDLE.get_or_init(|| read_json("codex_app_server_protocol.v2.schemas.json"))
}

/// Codex's client methods (`ClientRequest.json`) and the response definition of each, when the
/// bundle has one: the params type with `Response` for `Params` (optional params are
/// `anyOf: [{$ref}, null]`), or for methods without params the method's name in PascalCase.
pub fn client_methods() -> &'static HashMap<String, Option<String>> {
    static METHODS: OnceLock<HashMap<String, Option<String>>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let union = read_json("ClientRequest.json");
        let mut out = HashMap::new();
        for v in union["oneOf"].as_array().unwrap() {
            let method = v["properties"]["method"]["enum"][0].as_str().unwrap();
            let params = &v["properties"]["params"];
            let reference = params["$ref"]
                .as_str()
                .or_else(|| params["anyOf"][0]["$ref"].as_str());
            let name = match reference {
                Some(r) => r.rsplit('/').next().unwrap().replace("Params", "Response"),
                None => {
                    let pascal: String = method
                        .split('/')
                        .map(|part| {
                            let mut c = part.chars();
                            c.next()
                                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                                .unwrap_or_default()
                        })
                        .collect();
                    pascal + "Response"
                }
            };
            let known = bundle()["definitions"].get(&name).is_some();
            out.insert(method.to_owned(), known.then_some(name));
        }
        out
    })
}

/// What is wrong with `value` as Codex's definition `def` (empty: valid). `InitializeResponse`
/// is Codex's v1 handshake type, in a file of its own.
pub fn codex_errors(def: &str, value: &Value) -> Vec<String> {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, jsonschema::Validator>>> = OnceLock::new();
    let mut validators = VALIDATORS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let validator = validators.entry(def.to_owned()).or_insert_with(|| {
        let schema = if def == "InitializeResponse" {
            read_json("v1/InitializeResponse.json")
        } else {
            json!({
                "$schema": "http://json-schema.org/draft-07/schema#",
                "$ref": format!("#/definitions/{def}"),
                "definitions": bundle()["definitions"],
            })
        };
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("Codex schema {def}: {e}"))
    });
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// What is wrong with `result` as Codex's answer to `method`; `None` when Codex's schema
/// declares no response type for it (or does not have the method).
pub fn codex_result_errors(method: &str, result: &Value) -> Option<Vec<String>> {
    let def = match method {
        "initialize" => "InitializeResponse".to_owned(),
        _ => client_methods().get(method).cloned().flatten()?,
    };
    Some(codex_errors(&def, result))
}

/// Asserts `value` is a valid `def` of Codex's schema.
#[track_caller]
pub fn assert_codex_valid(def: &str, value: &Value) {
    let errors = codex_errors(def, value);
    assert!(
        errors.is_empty(),
        "not a valid Codex {def}: {errors:#?}\n{value:#}"
    );
}

/// Asserts `result` is a valid answer to `method` by Codex's schema (which must declare one).
#[track_caller]
pub fn assert_codex_result(method: &str, result: &Value) {
    let errors = codex_result_errors(method, result)
        .unwrap_or_else(|| panic!("Codex's schema has no response type for {method}"));
    assert!(
        errors.is_empty(),
        "not a valid Codex answer to {method}: {errors:#?}\n{result:#}"
    );
}

/// Configured tokens for the admin-only methods (`thread/delete`, `command/exec`): an `admin`
/// and a `control` one, and the options that start a daemon with them.
pub struct Tokens {
    home: tempfile::TempDir,
    pub admin: String,
    pub control: String,
}

impl Tokens {
    /// The daemon's `$XDG_CONFIG_HOME`, for more tokens.
    pub fn home(&self) -> &std::path::Path {
        self.home.path()
    }
}

pub fn tokens() -> (Tokens, agentd_tests::Options) {
    let home = tempfile::tempdir().unwrap();
    let admin = agentd_tests::access::create_token(home.path(), "boss", "admin");
    let control = agentd_tests::access::create_token(home.path(), "driver", "control");
    let opts = agentd_tests::Options::default().config_home(home.path());
    let t = Tokens {
        home,
        admin,
        control,
    };
    (t, opts)
}
