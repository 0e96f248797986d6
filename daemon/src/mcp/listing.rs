//! What of a server's tool list is kept. Every tool a server lists goes into every model
//! request of every thread that uses the server, and into `mcpServerStatus/list`; a server
//! must not be able to make those megabytes. So each tool is trimmed when it is listed — its
//! schema and description bounded, what no one reads (icons, `_meta`) dropped — and a server's
//! tools together have a byte budget; tools past it are left out, with a warning.

use std::sync::Arc;

use rmcp::model::Tool;

use super::bounds::{clip, json_len_within};
use super::schema::{self, MAX_SCHEMA_BYTES};

/// Bytes of a tool's name: longer ones are not tools anyone can call by name.
const MAX_NAME_BYTES: usize = 128;
/// Bytes of a tool's title (and its annotations' title).
const MAX_TITLE_BYTES: usize = 256;
/// Bytes of one server's tools, as kept (trimmed) and measured as JSON.
pub const MAX_LISTING_BYTES: usize = 512 * 1024;

/// A server's tools as they arrive, page by page, within the budget.
#[derive(Default)]
pub struct Listing {
    pub tools: Vec<Tool>,
    bytes: usize,
    /// Tools left out: a name too long, or past the budget.
    pub left_out: usize,
    /// Tools whose input schema was too large and is now the empty object schema.
    pub schemas_replaced: usize,
}

impl Listing {
    /// Keeps what fits of one page.
    pub fn add(&mut self, page: Vec<Tool>) {
        for tool in page {
            let Some((tool, replaced)) = trimmed(tool) else {
                self.left_out += 1;
                continue;
            };
            let size = json_len_within(&tool, MAX_LISTING_BYTES).unwrap_or(usize::MAX);
            if self.bytes.saturating_add(size) > MAX_LISTING_BYTES {
                self.left_out += 1;
                continue;
            }
            self.bytes += size;
            self.schemas_replaced += usize::from(replaced);
            self.tools.push(tool);
        }
    }
}

/// The tool as it is kept and whether its input schema was replaced, or `None` when its name
/// is too long to be one.
fn trimmed(mut tool: Tool) -> Option<(Tool, bool)> {
    if tool.name.len() > MAX_NAME_BYTES {
        return None;
    }
    // Replaced now rather than measured again before every request: an empty map becomes the
    // empty object schema when the tool is offered (`schema::for_model`).
    let replaced = json_len_within(&*tool.input_schema, MAX_SCHEMA_BYTES).is_none();
    if replaced {
        tool.input_schema = Arc::default();
    }
    if let Some(schema) = &tool.output_schema {
        if json_len_within(&**schema, MAX_SCHEMA_BYTES).is_none() {
            tool.output_schema = None;
        }
    }
    if let Some(description) = &tool.description {
        tool.description = Some(schema::description(Some(description)).into());
    }
    tool.title = tool.title.as_deref().map(|t| clip(t, MAX_TITLE_BYTES));
    if let Some(annotations) = &mut tool.annotations {
        annotations.title = annotations
            .title
            .as_deref()
            .map(|t| clip(t, MAX_TITLE_BYTES));
    }
    tool.icons = None;
    tool.meta = None;
    Some((tool, replaced))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::schema::MAX_DESCRIPTION_CHARS;
    use serde_json::{json, Map, Value};

    fn tool(name: &str, schema: Value, description: &str) -> Tool {
        let schema: Map<String, Value> = schema.as_object().cloned().unwrap_or_default();
        Tool::new(name.to_owned(), description.to_owned(), Arc::new(schema))
    }

    #[test]
    fn a_tool_is_trimmed_when_listed() {
        let mut listing = Listing::default();
        let huge = json!({"type": "object", "description": "x".repeat(MAX_SCHEMA_BYTES)});
        listing.add(vec![
            tool("big_schema", huge, &"d".repeat(MAX_DESCRIPTION_CHARS * 3)),
            tool(
                &"n".repeat(MAX_NAME_BYTES + 1),
                json!({}),
                "too long a name",
            ),
            tool("fine", json!({"type": "object"}), "ok"),
        ]);
        assert_eq!(listing.left_out, 1);
        assert_eq!(listing.schemas_replaced, 1);
        let names: Vec<&str> = listing.tools.iter().map(|t| &*t.name).collect();
        assert_eq!(names, ["big_schema", "fine"]);
        assert!(listing.tools[0].input_schema.is_empty());
        let description = listing.tools[0].description.as_deref().unwrap_or_default();
        assert_eq!(description.chars().count(), MAX_DESCRIPTION_CHARS + 1);
        assert_eq!(
            listing.tools[1].input_schema.get("type"),
            Some(&json!("object"))
        );
    }

    #[test]
    fn a_servers_tools_have_a_budget_in_all() {
        let schema = json!({"type": "object", "description": "s".repeat(MAX_SCHEMA_BYTES - 100)});
        let mut listing = Listing::default();
        for page in 0..4 {
            let tools = (0..16)
                .map(|i| tool(&format!("t{page}_{i}"), schema.clone(), "d"))
                .collect();
            listing.add(tools);
        }
        let kept = listing.tools.len();
        assert!((10..64).contains(&kept), "{kept} kept");
        assert_eq!(listing.left_out, 64 - kept);
        let bytes = serde_json::to_string(&listing.tools).unwrap().len();
        assert!(bytes <= MAX_LISTING_BYTES + kept, "{bytes} bytes kept");
    }
}
