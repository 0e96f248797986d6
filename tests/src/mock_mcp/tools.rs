//! The tools `mock-mcp` advertises, by name, so tests can refer to them without repeating
//! strings. Schemas are written by hand (no schemars), which also lets one schema be
//! deliberately sloppy ([`NO_TYPE_SCHEMA`]).

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Value};

/// A name with characters outside `[A-Za-z0-9_-]`, which model APIs reject in function names.
pub const DOTTED: &str = "dotted.name/with space";
/// An 80-character name, longer than model APIs allow once a server prefix is added.
pub const LONG_NAME: &str =
    "a_very_long_tool_name_a_very_long_tool_name_a_very_long_tool_name_a_very_long_to";
const _: () = assert!(LONG_NAME.len() == 80);
/// A tool whose input schema has `properties` but no `"type": "object"`.
pub const NO_TYPE_SCHEMA: &str = "no_type_schema";
/// The tool that appears only after `add_tool` was called.
pub const LATE: &str = "late";
/// Cap of the `big` tool's output, so a typo cannot exhaust memory.
pub const BIG_MAX_BYTES: u64 = 64 << 20;

/// The PNG the `image` tool returns: one red pixel, base64.
pub const TINY_PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==";

/// Every tool name `tools/list` returns before `add_tool` was called, in list order.
pub const NAMES: &[&str] = &[
    "echo",
    "image",
    "fail",
    "protocol_error",
    "slow",
    "write",
    "structured",
    "ask",
    "die",
    "add_tool",
    "env",
    "big",
    "stderr",
    DOTTED,
    LONG_NAME,
    NO_TYPE_SCHEMA,
];

/// The `tools/list` answer; `late` is appended once `add_tool` has run.
pub fn list(late: bool) -> Vec<Tool> {
    let mut tools = vec![
        read_only(Tool::new(
            "echo",
            "Returns `echo: <text>`.",
            object_schema(json!({"text": {"type": "string"}}), &["text"]),
        )),
        read_only(Tool::new(
            "image",
            "Returns a text and a 1x1 PNG.",
            no_args(),
        )),
        Tool::new(
            "fail",
            "A tool-level error (isError) saying boom.",
            no_args(),
        ),
        Tool::new(
            "protocol_error",
            "A JSON-RPC error instead of a result.",
            no_args(),
        ),
        Tool::new(
            "slow",
            "Sleeps `ms` milliseconds; a cancellation is recorded.",
            object_schema(json!({"ms": {"type": "integer", "minimum": 0}}), &["ms"]),
        ),
        // No readOnlyHint: a mutating tool, for approval tests.
        Tool::new(
            "write",
            "Writes `text` to the file at `path`.",
            object_schema(
                json!({"path": {"type": "string"}, "text": {"type": "string"}}),
                &["path", "text"],
            ),
        ),
        Tool::new(
            "structured",
            "Returns structuredContent {answer: 42}.",
            no_args(),
        ),
        Tool::new(
            "ask",
            "Asks the client for a name (elicitation/create).",
            no_args(),
        ),
        Tool::new("die", "Exits the server without answering.", no_args()),
        Tool::new(
            "add_tool",
            "Adds the tool `late` and says tools/list_changed.",
            no_args(),
        ),
        Tool::new(
            "env",
            "Returns the server's environment as a JSON object.",
            no_args(),
        ),
        Tool::new(
            "big",
            "Returns `bytes` bytes: HEAD, x..., TAIL.",
            object_schema(
                json!({"bytes": {"type": "integer", "minimum": 0}}),
                &["bytes"],
            ),
        ),
        read_only(Tool::new(
            "stderr",
            "Writes one line of `bytes` bytes to stderr, then returns `said`.",
            object_schema(
                json!({"bytes": {"type": "integer", "minimum": 0}}),
                &["bytes"],
            ),
        )),
        Tool::new(DOTTED, "Returns `dotted ok`.", no_args()),
        Tool::new(LONG_NAME, "Returns `long ok`.", no_args()),
        Tool::new(
            NO_TYPE_SCHEMA,
            "Returns `no type ok`.",
            as_object(json!({"properties": {"x": {"type": "string"}}})),
        ),
    ];
    if late {
        tools.push(Tool::new(LATE, "Returns `late tool`.", no_args()));
    }
    tools
}

fn read_only(tool: Tool) -> Tool {
    tool.annotate(ToolAnnotations::new().read_only(true))
}

fn no_args() -> JsonObject {
    object_schema(json!({}), &[])
}

fn object_schema(properties: Value, required: &[&str]) -> JsonObject {
    as_object(json!({"type": "object", "properties": properties, "required": required}))
}

/// The schemas above are literals, always objects; anything else would become `{}`.
fn as_object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}
