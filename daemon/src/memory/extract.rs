//! Phase 1: one thread's history → `{raw_memory, summary, slug}` by one model request with
//! structured output. The history is a transcript without tool output, secrets redacted, cut
//! to fit half the model's context.

use serde::Deserialize;
use serde_json::{json, Value};

use super::ask::Ask;
use super::redact::redact;
use super::transcript::transcript;
use crate::model::ModelClient;

const INSTRUCTIONS: &str = "\
You extract durable memory from a finished coding-agent conversation, for future conversations \
in the same project. Keep only what will still be true and useful later: the user's preferences \
and conventions, how the project builds, runs and tests, decisions made and why, pitfalls found. \
Leave out one-off details, file contents and anything secret. Answer with JSON only.";

/// Bytes of transcript per token of context, counted conservatively (English runs ~4).
pub const BYTES_PER_TOKEN: u64 = 3;
/// The context assumed when the config does not say.
const DEFAULT_CONTEXT_TOKENS: u64 = 128_000;
/// Longest fields kept from an answer.
const MAX_RAW_BYTES: usize = 16 * 1024;
const MAX_SUMMARY_BYTES: usize = 4 * 1024;
const MAX_SLUG_CHARS: usize = 64;

/// What one thread taught.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Extracted {
    pub raw_memory: String,
    pub summary: String,
    pub slug: String,
}

/// The transcript a thread's history makes for the model, redacted and cut.
pub fn prompt(history: &[Value], context_tokens: Option<u64>) -> String {
    let window = context_tokens.unwrap_or(DEFAULT_CONTEXT_TOKENS);
    let max_bytes = (window / 2).saturating_mul(BYTES_PER_TOKEN).min(512 * 1024) as usize;
    let text = redact(&transcript(history, max_bytes));
    format!(
        "The conversation:\n\n{text}\n\nAnswer with {{\"raw_memory\": notes worth keeping, \
         as short bullet points, \"summary\": one paragraph, \"slug\": a few-word kebab-case \
         title}}."
    )
}

pub async fn extract(
    client: &ModelClient,
    model: &str,
    prompt: String,
) -> Result<Extracted, String> {
    let answer = Ask {
        client,
        model,
        instructions: INSTRUCTIONS,
        input: prompt,
        output_schema: Some(schema()),
    }
    .text()
    .await?;
    parse(&answer)
}

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "raw_memory": {"type": "string"},
            "summary": {"type": "string"},
            "slug": {"type": "string"}
        },
        "required": ["raw_memory", "summary", "slug"],
        "additionalProperties": false
    })
}

/// The answer as [`Extracted`] (a fenced JSON block is accepted), fields bounded and the
/// output redacted again: a model may repeat what it should not.
pub fn parse(answer: &str) -> Result<Extracted, String> {
    let body = answer
        .trim()
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    let e: Extracted = serde_json::from_str(body).map_err(|e| {
        let head: String = answer.chars().take(80).collect();
        format!("the extraction answer is not the JSON asked for ({e}): {head:?}")
    })?;
    Ok(Extracted {
        raw_memory: bounded(&redact(&e.raw_memory), MAX_RAW_BYTES),
        summary: bounded(&redact(&e.summary), MAX_SUMMARY_BYTES),
        slug: slug(&e.slug),
    })
}

fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.trim().to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

fn slug(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(MAX_SLUG_CHARS)
        .collect();
    let s = s
        .split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "memory".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_bounded_and_redacted() {
        let e = parse(
            "```json\n{\"raw_memory\": \"- uses make\\n- key sk-abcdefghijklmnopqrstuv\", \
             \"summary\": \"A build.\", \"slug\": \"Build Setup!\"}\n```",
        )
        .unwrap();
        assert!(e.raw_memory.contains("uses make"));
        assert!(!e.raw_memory.contains("sk-abcdefghijklmnopqrstuv"));
        assert_eq!(e.slug, "build-setup");
        assert!(parse("I think the user likes tabs").is_err());
    }
}
