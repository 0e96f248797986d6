//! An MCP tool's result, twice: for clients (the item's `result`: the content blocks as the
//! server sent them, large text cut and large images left out) and for the model (text, head
//! and tail kept like a command's output; images as data URLs where the wire takes them).

use agentd_protocol::McpToolCallResult;
use base64::Engine;
use rmcp::model::CallToolResult;
use serde_json::{json, Value};

use crate::tools::exec::OutputCapture;

/// Bytes of (decoded) image data passed to the model per call, in all.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// Bytes of base64 image data kept in the item for clients, per image.
const MAX_CLIENT_IMAGE_BASE64: usize = 2 * 1024 * 1024;

/// What a result becomes.
pub struct Converted {
    /// For the item.
    pub result: McpToolCallResult,
    /// The server flagged it as an error (`isError`).
    pub is_error: bool,
    /// For the model.
    pub text: String,
    pub images: Vec<String>,
}

/// `client_cap`: bytes of each text block kept for clients; `model_cap`: bytes of text for
/// the model (head and tail).
pub fn convert(result: CallToolResult, client_cap: usize, model_cap: usize) -> Converted {
    let is_error = result.is_error == Some(true);
    let blocks: Vec<Value> = result
        .content
        .iter()
        .filter_map(|b| serde_json::to_value(b).ok())
        .collect();
    let mut model = OutputCapture::new(0, model_cap);
    let mut images = Vec::new();
    let mut image_bytes = 0usize;
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            model.push(b"\n");
        }
        match block_for_model(block) {
            ForModel::Text(text) => model.push(text.as_bytes()),
            ForModel::Image { url, bytes } if image_bytes + bytes <= MAX_IMAGE_BYTES => {
                image_bytes += bytes;
                images.push(url);
                model.push(format!("[image {}]", images.len()).as_bytes());
            }
            ForModel::Image { bytes, .. } => {
                model.push(format!("[image of {bytes} bytes left out: too large]").as_bytes())
            }
            ForModel::Note(note) => model.push(note.as_bytes()),
        }
    }
    // A result with only structured content still says something to the model.
    if blocks.is_empty() {
        if let Some(structured) = &result.structured_content {
            model.push(structured.to_string().as_bytes());
        }
    }
    let text = model.finish().model_output;
    Converted {
        result: McpToolCallResult {
            content: blocks
                .into_iter()
                .map(|b| for_client(b, client_cap))
                .collect(),
            structured_content: result.structured_content,
        },
        is_error,
        text,
        images,
    }
}

enum ForModel {
    Text(String),
    Image { url: String, bytes: usize },
    Note(String),
}

fn block_for_model(block: &Value) -> ForModel {
    let str_of = |key: &str| block.get(key).and_then(Value::as_str);
    match str_of("type") {
        Some("text") => ForModel::Text(str_of("text").unwrap_or_default().to_owned()),
        Some("image") => image(str_of("data").unwrap_or_default(), str_of("mimeType")),
        Some("audio") => ForModel::Note(format!(
            "[audio ({}) not shown]",
            str_of("mimeType").unwrap_or("unknown type")
        )),
        Some("resource") => {
            let resource = block.get("resource");
            let field = |k: &str| resource.and_then(|r| r.get(k)).and_then(Value::as_str);
            match field("text") {
                Some(text) => ForModel::Text(text.to_owned()),
                None => ForModel::Note(format!(
                    "[resource {} ({}) not shown]",
                    field("uri").unwrap_or("?"),
                    field("mimeType").unwrap_or("binary")
                )),
            }
        }
        Some("resource_link") => {
            ForModel::Note(format!("[resource link: {}]", str_of("uri").unwrap_or("?")))
        }
        _ => ForModel::Note("[content of an unknown type not shown]".into()),
    }
}

/// An image block as a data URL, if it is an image and its data is base64.
fn image(data: &str, mime: Option<&str>) -> ForModel {
    let mime = mime.unwrap_or("image/png");
    if !mime.starts_with("image/") || mime.contains([';', ',']) {
        return ForModel::Note(format!("[content of type {mime} not shown]"));
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(data) else {
        return ForModel::Note("[an image whose data is not base64 not shown]".into());
    };
    ForModel::Image {
        url: format!("data:{mime};base64,{data}"),
        bytes: decoded.len(),
    }
}

/// A block as clients see it: long text cut, a large image's data left out.
fn for_client(mut block: Value, cap: usize) -> Value {
    let kind = block
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let field = match kind.as_str() {
        "text" => "text",
        "image" | "audio" => "data",
        _ => return block,
    };
    let Some(text) = block.get(field).and_then(Value::as_str) else {
        return block;
    };
    let limit = if field == "data" {
        MAX_CLIENT_IMAGE_BASE64
    } else {
        cap
    };
    if text.len() <= limit {
        return block;
    }
    let replacement = if field == "data" {
        json!("")
    } else {
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        json!(format!(
            "{}\n[… {} more bytes]",
            &text[..cut],
            text.len() - cut
        ))
    };
    block[field] = replacement;
    block
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ContentBlock;

    const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    #[test]
    fn text_and_images_reach_the_model() {
        let result = CallToolResult::success(vec![
            ContentBlock::text("hello"),
            ContentBlock::image(PNG_1X1, "image/png"),
        ]);
        let c = convert(result, 1024, 1024);
        assert!(!c.is_error);
        assert_eq!(c.text, "hello\n[image 1]");
        assert_eq!(c.images.len(), 1);
        assert!(c.images[0].starts_with("data:image/png;base64,iVBOR"));
        assert_eq!(c.result.content.len(), 2);
        assert_eq!(c.result.content[0]["text"], "hello");
    }

    #[test]
    fn long_text_is_cut_head_and_tail_for_the_model_and_head_for_clients() {
        let long = format!("HEAD{}TAIL", "x".repeat(100_000));
        let c = convert(
            CallToolResult::success(vec![ContentBlock::text(long)]),
            1000,
            200,
        );
        assert!(c.text.starts_with("HEAD"));
        assert!(c.text.ends_with("TAIL"));
        assert!(c.text.len() < 400);
        let client = c.result.content[0]["text"].as_str().unwrap_or_default();
        assert!(client.starts_with("HEAD"));
        assert!(client.len() < 1100);
    }

    #[test]
    fn errors_and_structured_results() {
        let c = convert(
            CallToolResult::error(vec![ContentBlock::text("boom")]),
            100,
            100,
        );
        assert!(c.is_error);
        assert_eq!(c.text, "boom");
        let mut structured = CallToolResult::success(vec![]);
        structured.structured_content = Some(json!({"answer": 42}));
        let c = convert(structured, 100, 100);
        assert_eq!(c.text, r#"{"answer":42}"#);
        assert_eq!(c.result.structured_content, Some(json!({"answer": 42})));
    }

    #[test]
    fn non_image_mime_types_are_not_passed_as_images() {
        let c = convert(
            CallToolResult::success(vec![ContentBlock::image(PNG_1X1, "text/html")]),
            100,
            100,
        );
        assert!(c.images.is_empty());
        assert!(c.text.contains("not shown"));
    }
}
