//! Phase 2: a project's current summary and its new memories → the new summary, one model
//! request, cut to `max_summary_tokens` (counted conservatively, [`BYTES_PER_TOKEN`]).

use super::ask::Ask;
use super::extract::BYTES_PER_TOKEN;
use crate::model::ModelClient;
use crate::store::MemoryRow;

const INSTRUCTIONS: &str = "\
You maintain the memory a coding agent keeps about one project across conversations. Merge the \
new notes into the current memory: what the user prefers, how the project builds and tests, \
decisions and pitfalls worth remembering. Drop what the new notes contradict, merge duplicates, \
keep it short. Answer with the new memory as Markdown bullet points, nothing else.";

pub struct Input<'a> {
    pub project: &'a str,
    pub current: &'a str,
    pub new: &'a [MemoryRow],
    pub max_tokens: u32,
}

pub async fn consolidate(
    client: &ModelClient,
    model: &str,
    input: Input<'_>,
) -> Result<String, String> {
    let mut prompt = format!("Project: {}\n\nCurrent memory:\n", input.project);
    prompt.push_str(if input.current.trim().is_empty() {
        "(none yet)"
    } else {
        input.current
    });
    prompt.push_str("\n\nNew notes, newest first:\n");
    for m in input.new {
        prompt.push_str(&format!(
            "\n## {}\n{}\n{}\n",
            m.slug, m.summary, m.raw_memory
        ));
    }
    prompt.push_str(&format!(
        "\nKeep the result under {} words.",
        input.max_tokens.saturating_mul(3) / 4
    ));
    let answer = Ask {
        client,
        model,
        instructions: INSTRUCTIONS,
        input: prompt,
        output_schema: None,
    }
    .text()
    .await?;
    let summary = capped(answer.trim(), input.max_tokens);
    if summary.is_empty() {
        return Err("the consolidation answer is empty".into());
    }
    Ok(summary)
}

/// `text` within `max_tokens`: whole lines while they fit, else the first part of the line.
pub fn capped(text: &str, max_tokens: u32) -> String {
    let max = (u64::from(max_tokens) * BYTES_PER_TOKEN) as usize;
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    head.rfind('\n')
        .map_or(head, |i| &head[..i])
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_holds_at_a_line_boundary() {
        let text = "- one\n- two\n- three is long\n".repeat(100);
        let out = capped(&text, 10);
        assert!(out.len() <= 30);
        assert!(out.ends_with("- one") || out.ends_with("- two") || out.ends_with("long"));
        assert_eq!(capped("short", 10), "short");
    }
}
