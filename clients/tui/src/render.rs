//! Turns the transcript into styled text lines: one place that knows how each item kind looks,
//! and the wrapping and escape-stripping that keep a command's raw output from breaking the
//! screen.

use agentd_protocol::{
    ItemStatus, McpToolCallItem, McpToolCallResult, McpToolCallStatus, PatchChangeKind, ThreadItem,
    TurnStatus, UserInput,
};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use serde_json::Value;
use unicode_width::UnicodeWidthChar;

use crate::transcript::{Entry, Transcript};

/// A command's output beyond this many lines is cut from the top (the model got its own copy;
/// the screen shows the end, where errors are).
const OUTPUT_TAIL_LINES: usize = 200;

/// An MCP call's arguments are shown on its header line, cut to this many characters (the
/// approval prompt shows them whole, pretty-printed).
const MCP_ARGUMENTS_CHARS: usize = 120;

/// An MCP result beyond this many lines is cut from the bottom (its start says what it is).
const MCP_RESULT_LINES: usize = 40;

/// One unwrapped line and its style.
pub type Styled = (String, Style);

fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

/// A thread's title for lists and headers.
pub fn thread_title(thread: &agentd_protocol::Thread) -> String {
    match &thread.name {
        Some(name) if !name.is_empty() => name.clone(),
        _ if !thread.preview.is_empty() => thread.preview.clone(),
        _ => "(new thread)".into(),
    }
}

/// Removes ANSI escape sequences and control characters; tabs become spaces.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                // CSI (`ESC [ … final`) or a two-character escape.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Wraps each line to `width` display columns, at the last space when there is one (a word
/// longer than the width is cut).
pub fn wrap(lines: Vec<Styled>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut out = Vec::with_capacity(lines.len());
    for (text, style) in lines {
        let mut rest: &str = &text;
        loop {
            let mut used = 0;
            let mut cut = rest.len();
            let mut last_space = None;
            for (at, c) in rest.char_indices() {
                let w = c.width().unwrap_or(0);
                if used + w > width && at > 0 {
                    cut = at;
                    break;
                }
                if c == ' ' {
                    last_space = Some(at);
                }
                used += w;
            }
            if cut == rest.len() {
                out.push(Line::styled(rest.to_string(), style));
                break;
            }
            let (line, next) = match last_space {
                Some(space) if space > 0 => (&rest[..space], &rest[space + 1..]),
                _ => (&rest[..cut], &rest[cut..]),
            };
            out.push(Line::styled(line.to_string(), style));
            rest = next;
        }
    }
    out
}

fn push_text(out: &mut Vec<Styled>, text: &str, first: &str, rest: &str, style: Style) {
    for (i, line) in sanitize_lines(text).into_iter().enumerate() {
        let prefix = if i == 0 { first } else { rest };
        out.push((format!("{prefix}{line}"), style));
    }
}

fn sanitize_lines(text: &str) -> Vec<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n').map(sanitize).collect()
}

fn diff_lines(out: &mut Vec<Styled>, diff: &str) {
    for line in sanitize_lines(diff) {
        let style = if line.starts_with("+++") || line.starts_with("---") {
            Style::default().add_modifier(Modifier::BOLD)
        } else if line.starts_with('+') {
            Style::default().fg(Color::Green)
        } else if line.starts_with('-') {
            Style::default().fg(Color::Red)
        } else if line.starts_with("@@") {
            Style::default().fg(Color::Cyan)
        } else {
            Style::default()
        };
        out.push((format!("    {line}"), style));
    }
}

/// How one file of a patch is announced.
pub fn change_header(path: &str, kind: &PatchChangeKind) -> String {
    match kind {
        PatchChangeKind::Add => format!("  add {path}"),
        PatchChangeKind::Delete => format!("  delete {path}"),
        PatchChangeKind::Update {
            move_path: Some(to),
        } => format!("  update {path} → {to}"),
        PatchChangeKind::Update { move_path: None } => format!("  update {path}"),
    }
}

/// `text` cut to `max` characters, with `…` where it was cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// An MCP result for people: text blocks as they are, other blocks (images, audio,
/// resources) as a short placeholder naming their kind; the structured content when there is
/// no text at all.
pub fn mcp_result_text(result: &McpToolCallResult) -> String {
    let mut parts: Vec<String> = Vec::new();
    for block in &result.content {
        let field = |key: &str| block.get(key).and_then(Value::as_str);
        match field("type") {
            Some("text") => parts.push(field("text").unwrap_or_default().to_owned()),
            Some(kind @ ("image" | "audio")) => parts.push(match field("mimeType") {
                Some(mime) => format!("[{kind} {mime}]"),
                None => format!("[{kind}]"),
            }),
            Some("resource_link") => {
                parts.push(format!("[resource {}]", field("uri").unwrap_or_default()))
            }
            Some("resource") => {
                let r = &block["resource"];
                parts.push(match r.get("text").and_then(Value::as_str) {
                    Some(text) => text.to_owned(),
                    None => format!(
                        "[resource {}]",
                        r.get("uri").and_then(Value::as_str).unwrap_or_default()
                    ),
                });
            }
            Some(other) => parts.push(format!("[{other}]")),
            None => {}
        }
    }
    if parts.is_empty() {
        if let Some(structured) = result.structured_content.as_ref().filter(|v| !v.is_null()) {
            parts.push(structured.to_string());
        }
    }
    parts.join("\n")
}

fn mcp_lines(out: &mut Vec<Styled>, c: &McpToolCallItem) {
    let header = Style::default()
        .fg(Color::Blue)
        .add_modifier(Modifier::BOLD);
    let args = match &c.arguments {
        Value::Object(map) if map.is_empty() => String::new(),
        Value::Null => String::new(),
        args => format!(" {}", shorten(&args.to_string(), MCP_ARGUMENTS_CHARS)),
    };
    out.push((
        sanitize(&format!("⚒ {}.{}{args}", c.server, c.tool)),
        header,
    ));
    if let Some(result) = &c.result {
        let text = mcp_result_text(result);
        if !text.is_empty() {
            let lines = sanitize_lines(&text);
            for line in lines.iter().take(MCP_RESULT_LINES) {
                out.push((format!("  {line}"), Style::default().fg(Color::Gray)));
            }
            if lines.len() > MCP_RESULT_LINES {
                let more = lines.len() - MCP_RESULT_LINES;
                out.push((format!("  … {more} more lines"), dim()));
            }
        }
    }
    let took = c
        .duration_ms
        .map(|ms| format!(" · {ms} ms"))
        .unwrap_or_default();
    out.push(match c.status {
        McpToolCallStatus::InProgress => ("  … running".into(), dim()),
        McpToolCallStatus::Completed => {
            (format!("  ✓ done{took}"), Style::default().fg(Color::Green))
        }
        McpToolCallStatus::Failed => {
            let why = c
                .error
                .as_ref()
                .map(|e| format!(": {}", sanitize(&e.message.replace('\n', " "))))
                .unwrap_or_default();
            (
                format!("  ✗ failed{why}{took}"),
                Style::default().fg(Color::Red),
            )
        }
    });
}

fn item_lines(out: &mut Vec<Styled>, item: &ThreadItem) {
    match item {
        ThreadItem::UserMessage(m) => {
            let user = Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD);
            for input in &m.content {
                match input {
                    UserInput::Text { text, .. } => push_text(out, text, "› ", "  ", user),
                    UserInput::Image { url } => out.push((format!("› [image {url}]"), user)),
                    UserInput::LocalImage { path } => out.push((format!("› [image {path}]"), user)),
                }
            }
        }
        ThreadItem::AgentMessage(m) => push_text(out, &m.text, "", "", Style::default()),
        ThreadItem::Reasoning(r) => {
            let style = dim().add_modifier(Modifier::ITALIC);
            for part in r.summary.iter().filter(|s| !s.is_empty()) {
                push_text(out, part, "thinking: ", "          ", style);
            }
        }
        ThreadItem::CommandExecution(c) => {
            let header = Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD);
            push_text(out, &c.command, "$ ", "  ", header);
            if let Some(output) = c.aggregated_output.as_deref().filter(|o| !o.is_empty()) {
                let lines = sanitize_lines(output);
                let skip = lines.len().saturating_sub(OUTPUT_TAIL_LINES);
                if skip > 0 {
                    out.push((format!("  … {skip} earlier lines"), dim()));
                }
                for line in &lines[skip..] {
                    out.push((format!("  {line}"), Style::default().fg(Color::Gray)));
                }
            }
            let exit = c.exit_code.map(|e| format!("exit {e}")).unwrap_or_default();
            let took = c
                .duration_ms
                .map(|ms| format!(" · {ms} ms"))
                .unwrap_or_default();
            out.push(match c.status {
                ItemStatus::InProgress => ("  … running".into(), dim()),
                ItemStatus::Completed => (
                    format!("  ✓ {exit}{took}"),
                    Style::default().fg(Color::Green),
                ),
                ItemStatus::Failed => (
                    format!("  ✗ failed {exit}{took}"),
                    Style::default().fg(Color::Red),
                ),
                ItemStatus::Declined => ("  ✗ declined".into(), Style::default().fg(Color::Red)),
            });
        }
        ThreadItem::FileChange(f) => {
            let state = match f.status {
                ItemStatus::InProgress => "applying",
                ItemStatus::Completed => "applied",
                ItemStatus::Failed => "failed",
                ItemStatus::Declined => "declined",
            };
            let header = Style::default()
                .fg(Color::Magenta)
                .add_modifier(Modifier::BOLD);
            out.push((format!("✎ patch ({state})"), header));
            for change in &f.changes {
                out.push((change_header(&change.path, &change.kind), header));
                diff_lines(out, &change.diff);
            }
        }
        ThreadItem::Plan(p) => push_text(out, &p.text, "plan: ", "      ", dim()),
        ThreadItem::ContextCompaction(_) => out.push(("— context compacted —".into(), dim())),
        ThreadItem::CollabAgentToolCall(c) => {
            out.push((format!("agent tool call: {:?}", c.tool), dim()))
        }
        ThreadItem::McpToolCall(c) => mcp_lines(out, c),
        // Context a hook added for the model: shown quietly, one fragment per hook run.
        ThreadItem::HookPrompt(h) => {
            for fragment in &h.fragments {
                push_text(out, &fragment.text, "hook: ", "      ", dim());
            }
        }
    }
}

fn entry_lines(out: &mut Vec<Styled>, entry: &Entry) {
    match entry {
        Entry::Item(item) => item_lines(out, item),
        Entry::TurnEnded { status, error } => {
            let (text, style) = match status {
                TurnStatus::Completed => ("── turn completed ──".to_string(), dim()),
                TurnStatus::Interrupted => (
                    "── turn interrupted ──".to_string(),
                    Style::default().fg(Color::Yellow),
                ),
                TurnStatus::Failed => (
                    format!(
                        "── turn failed: {} ──",
                        error.as_ref().map(|e| e.message.as_str()).unwrap_or("?")
                    ),
                    Style::default().fg(Color::Red),
                ),
                TurnStatus::InProgress => ("── turn running ──".to_string(), dim()),
            };
            out.push((text, style));
        }
        Entry::Notice(text) => push_text(out, text, "! ", "  ", Style::default().fg(Color::Red)),
    }
    out.push((String::new(), Style::default()));
}

fn plan_lines(out: &mut Vec<Styled>, t: &Transcript) {
    if t.running_turn.is_none() || t.plan.is_empty() {
        return;
    }
    out.push(("plan:".into(), dim()));
    for step in &t.plan {
        let mark = match step.status {
            agentd_protocol::TurnPlanStepStatus::Completed => "[x]",
            agentd_protocol::TurnPlanStepStatus::InProgress => "[>]",
            agentd_protocol::TurnPlanStepStatus::Pending => "[ ]",
        };
        out.push((format!("  {mark} {}", sanitize(&step.step)), dim()));
    }
}

/// The last `wanted` wrapped lines of the transcript, oldest first, and whether they reach back
/// to its start. Only the entries that end up on screen are wrapped, so a frame of a thread
/// with thousands of items costs what the screen shows, not what the thread holds.
pub fn tail_lines(t: &Transcript, width: usize, wanted: usize) -> (Vec<Line<'static>>, bool) {
    let mut chunks: Vec<Vec<Line<'static>>> = Vec::new();
    let mut count = 0;
    let mut plan = Vec::new();
    plan_lines(&mut plan, t);
    let plan = wrap(plan, width);
    count += plan.len();
    chunks.push(plan);
    let mut entries = t.entries.iter().rev();
    while count < wanted {
        let Some(entry) = entries.next() else { break };
        let mut lines = Vec::new();
        entry_lines(&mut lines, entry);
        let lines = wrap(lines, width);
        count += lines.len();
        chunks.push(lines);
    }
    let whole = entries.next().is_none();
    let mut out = Vec::with_capacity(count);
    for chunk in chunks.into_iter().rev() {
        out.extend(chunk);
    }
    (out, whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_control_characters_are_removed() {
        assert_eq!(sanitize("\x1b[31mred\x1b[0m\tx\r\x07"), "red    x");
    }

    #[test]
    fn lines_wrap_at_the_display_width() {
        let lines = wrap(vec![("abcdefg".into(), Style::default())], 3);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, ["abc", "def", "g"]);
        let wide = wrap(vec![("日本語".into(), Style::default())], 4);
        assert_eq!(wide.len(), 2, "two columns per character");
        let words = wrap(vec![("one two three".into(), Style::default())], 9);
        let text: Vec<String> = words.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, ["one two", "three"]);
    }
}
