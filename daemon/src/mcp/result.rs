//! An MCP tool's result, twice: for clients (the item's `result`: the content blocks as the
//! server sent them, within one byte budget — long text cut, large images' data left out, and
//! what does not fit left out with a note) and for the model (text, head and tail kept like a
//! command's output; images as data URLs when their bytes are an image the model takes).

use agentd_protocol::McpToolCallResult;
use base64::Engine;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

use super::bounds::json_len_within;
use crate::model::image_type;
use crate::tools::exec::OutputCapture;

/// Bytes of (decoded) image data passed to the model per call, in all.
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// Images passed to the model per call (as many as one user input may carry).
const MAX_IMAGES: usize = 16;
/// Bytes of base64 image data kept in the item for clients, per image.
const MAX_CLIENT_IMAGE_BASE64: usize = 2 * 1024 * 1024;
/// Room kept for a cut text block's JSON around its text.
const BLOCK_ENVELOPE: usize = 256;

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

/// `client_cap`: bytes of text kept for clients (per block, and with one image's data, the
/// budget of the whole client copy); `model_cap`: bytes of text for the model (head and tail).
pub fn convert(result: CallToolResult, client_cap: usize, model_cap: usize) -> Converted {
    let is_error = result.is_error == Some(true);
    let blocks: Vec<Value> = result
        .content
        .iter()
        .filter_map(|b| serde_json::to_value(b).ok())
        .collect();
    let (text, images) = for_model(&blocks, result.structured_content.as_ref(), model_cap);
    Converted {
        result: for_clients(blocks, result.structured_content, client_cap),
        is_error,
        text,
        images,
    }
}

/// The text and images the model gets.
fn for_model(blocks: &[Value], structured: Option<&Value>, cap: usize) -> (String, Vec<String>) {
    let mut model = OutputCapture::new(0, cap);
    let mut images = Vec::new();
    let mut image_bytes = 0usize;
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            model.push(b"\n");
        }
        match block_for_model(block) {
            ForModel::Text(text) => model.push(text.as_bytes()),
            ForModel::Image { .. } if images.len() == MAX_IMAGES => {
                model.push(format!("[image left out: at most {MAX_IMAGES} per result]").as_bytes())
            }
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
        if let Some(structured) = structured {
            model.push(structured.to_string().as_bytes());
        }
    }
    (model.finish().model_output, images)
}

/// The client copy: blocks in order while they fit the budget (`client_cap` bytes, and
/// [`MAX_CLIENT_IMAGE_BASE64`] of image and audio data besides), then the structured content if
/// it fits; one note says what was left out.
fn for_clients(
    blocks: Vec<Value>,
    structured: Option<Value>,
    client_cap: usize,
) -> McpToolCallResult {
    let mut left = client_cap;
    let mut data_left = MAX_CLIENT_IMAGE_BASE64;
    let mut content = Vec::new();
    let mut left_out = 0usize;
    for block in blocks {
        let text_cap = left.saturating_sub(BLOCK_ENVELOPE);
        let (block, data) = for_client(block, text_cap, data_left);
        match json_len_within(&block, left + data) {
            Some(size) => {
                left -= size - data;
                data_left -= data;
                content.push(block);
            }
            None => left_out += 1,
        }
    }
    let structured = structured.filter(|s| match json_len_within(s, left) {
        Some(size) => {
            left -= size;
            true
        }
        None => {
            left_out += 1;
            false
        }
    });
    if left_out > 0 {
        let note = format!(
            "[{left_out} more part(s) of this result left out: over {client_cap} bytes in all]"
        );
        content.extend(serde_json::to_value(ContentBlock::text(note)).ok());
    }
    McpToolCallResult {
        content,
        structured_content: structured,
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
        Some("image") => image(str_of("data").unwrap_or_default()),
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

/// An image block as a data URL, if its data is base64 of an image the model takes; the type
/// is read from the bytes, not from the server's `mimeType`.
fn image(data: &str) -> ForModel {
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(data) else {
        return ForModel::Note("[an image whose data is not base64 not shown]".into());
    };
    let Some(mime) = image_type(&decoded) else {
        return ForModel::Note("[an image that is not PNG, JPEG, GIF or WebP not shown]".into());
    };
    ForModel::Image {
        url: format!("data:{mime};base64,{data}"),
        bytes: decoded.len(),
    }
}

/// A block as clients see it: text longer than `text_cap` cut, image or audio data longer
/// than `data_cap` left out. Returns the block and the bytes of data it keeps.
fn for_client(mut block: Value, text_cap: usize, data_cap: usize) -> (Value, usize) {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    let (field, limit) = match kind {
        "text" => ("text", text_cap),
        "image" | "audio" => ("data", data_cap),
        _ => return (block, 0),
    };
    let Some(text) = block.get(field).and_then(Value::as_str) else {
        return (block, 0);
    };
    let kept = if field == "data" { text.len() } else { 0 };
    // Text is measured as JSON writes it (a newline or quote takes two bytes), so the block
    // fits the budget it was cut for.
    let fits = match field {
        "data" => text.len() <= limit,
        _ => json_len_within(&text, limit.saturating_add(2)).is_some(),
    };
    if fits {
        return (block, kept);
    }
    let replacement = if field == "data" {
        String::new()
    } else {
        let cut = escaped_cut(text, limit);
        format!("{}\n[… {} more bytes]", &text[..cut], text.len() - cut)
    };
    block[field] = Value::String(replacement);
    (block, 0)
}

/// The longest prefix of `text` (a byte index on a character boundary) whose JSON-escaped
/// form is at most `budget` bytes.
fn escaped_cut(text: &str, budget: usize) -> usize {
    let mut used = 0usize;
    for (at, c) in text.char_indices() {
        let cost = match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        };
        if used + cost > budget {
            return at;
        }
        used += cost;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    /// An image is what its bytes are: PNG bytes labelled `text/html` go as `image/png`, text
    /// labelled `image/png` does not go at all, and at most 16 go per result.
    #[test]
    fn images_are_known_by_their_bytes_and_counted() {
        let c = convert(
            CallToolResult::success(vec![
                ContentBlock::image(PNG_1X1, "text/html"),
                ContentBlock::image(
                    base64::engine::general_purpose::STANDARD.encode("<svg/>"),
                    "image/png",
                ),
            ]),
            100,
            1000,
        );
        assert_eq!(c.images.len(), 1);
        assert!(c.images[0].starts_with("data:image/png;base64,"));
        assert!(c.text.contains("not PNG, JPEG, GIF or WebP"), "{}", c.text);
        let many = vec![ContentBlock::image(PNG_1X1, "image/png"); 20];
        let c = convert(CallToolResult::success(many), 100, 10_000);
        assert_eq!(c.images.len(), 16);
        assert!(c.text.contains("at most 16 per result"));
    }

    /// A long text full of newlines and quotes (most files) is cut to fit, not left out: its
    /// JSON is longer than its bytes.
    #[test]
    fn escaped_text_is_cut_to_fit_not_left_out() {
        let cap = 10_000;
        let text = "line \"quoted\"\tand\u{1}\n".repeat(2000);
        let c = convert(
            CallToolResult::success(vec![ContentBlock::text(text)]),
            cap,
            1000,
        );
        assert_eq!(c.result.content.len(), 1, "{:?}", c.result.content);
        let kept = c.result.content[0]["text"].as_str().unwrap();
        assert!(kept.starts_with("line \"quoted\""), "{kept}");
        assert!(kept.contains("more bytes]"));
        let size = serde_json::to_string(&c.result).unwrap().len();
        assert!(size <= cap, "{size}");
    }

    /// Many blocks, resources and structured content together stay within one budget for
    /// clients; what does not fit is counted in one note.
    #[test]
    fn the_client_copy_has_one_budget() {
        let cap = 10_000;
        let mut blocks = vec![ContentBlock::text("first")];
        blocks.extend(
            (0..1000).map(|i| ContentBlock::text(format!("block {i} {}", "y".repeat(100)))),
        );
        let mut result = CallToolResult::success(blocks);
        result.structured_content = Some(json!({"big": "z".repeat(10 * cap)}));
        let c = convert(result, cap, 1000);
        let size = serde_json::to_string(&c.result).unwrap().len();
        assert!(size <= cap + 200, "{size}");
        assert_eq!(c.result.content[0]["text"], "first");
        assert!(c.result.structured_content.is_none());
        let note = c.result.content.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(note.contains("left out"), "{note}");
    }
}
