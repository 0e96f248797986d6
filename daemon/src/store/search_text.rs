//! What of an item the search index holds, shared by both stores so a thread is found by the
//! same words whichever database keeps it.

use super::rows::ItemRow;

/// The text of an item worth searching, from the item's stored (wire-shaped) payload:
/// `userMessage.content[].text` (text inputs), `agentMessage.text`, `commandExecution.command`.
pub(crate) fn searchable_text(item: &ItemRow) -> Option<String> {
    let p = &item.payload;
    let text = match item.kind.as_str() {
        "agentMessage" => p["text"].as_str()?.to_owned(),
        "commandExecution" => p["command"].as_str()?.to_owned(),
        "userMessage" => p["content"]
            .as_array()?
            .iter()
            .filter(|c| c["type"] == "text")
            .filter_map(|c| c["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}
