//! Turns the transcript into styled text lines: one place that knows how each item kind looks,
//! and the wrapping and escape-stripping that keep a command's raw output from breaking the
//! screen.

use agentd_protocol::{
    CollabAgentStatus, CollabAgentTool, CollabAgentToolCallItem, CollabAgentToolCallStatus,
    ItemStatus, McpToolCallItem, McpToolCallResult, McpToolCallStatus, PatchChangeKind, ThreadItem,
    TurnStatus, UserInput,
};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use serde_json::Value;
use unicode_width::UnicodeWidthChar;

use agentd_protocol::{WebSearchAction, WebSearchItem};

use crate::transcript::{Entry, Transcript};

/// A command's output beyond this many lines is cut from the top (the model got its own copy;
/// the screen shows the end, where errors are).
const OUTPUT_TAIL_LINES: usize = 200;

/// An MCP call's arguments are shown on its header line, cut to this many characters (the
/// approval prompt shows them whole, pretty-printed).
const MCP_ARGUMENTS_CHARS: usize = 120;

/// An MCP result beyond this many lines is cut from the bottom (its start says what it is).
const MCP_RESULT_LINES: usize = 40;

/// A sub-agent call's prompt and each agent's last message are cut to this many characters
/// (on one line): the sub-agent's own transcript has them whole.
const COLLAB_TEXT_CHARS: usize = 160;

/// One unwrapped line and its style.
pub type Styled = (String, Style);

/// How a transcript names another thread (a sub-agent a call is about): its nickname when the
/// client knows it, else the end of its id.
pub type ThreadNames<'a> = &'a dyn Fn(&str) -> String;

/// The end of a thread id, for a thread known by nothing else.
pub fn short_id(id: &str) -> String {
    let tail: Vec<char> = id.chars().rev().take(8).collect();
    tail.into_iter().rev().collect()
}

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

/// A thread's title with, for a sub-agent, its nickname in front (`ada: …`).
pub fn thread_label(thread: &agentd_protocol::Thread) -> String {
    match crate::tree::nickname(thread) {
        Some(nick) => format!("{nick}: {}", thread_title(thread)),
        None => thread_title(thread),
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

/// A sub-agent call in a few lines: what was called on whom (by nickname), how the call went,
/// the prompt it carried, and each agent's state with the start of its last message.
fn collab_lines(out: &mut Vec<Styled>, c: &CollabAgentToolCallItem, names: ThreadNames<'_>) {
    let bold = |color| Style::default().fg(color).add_modifier(Modifier::BOLD);
    let header = bold(Color::Magenta);
    let verb = match c.tool {
        CollabAgentTool::SpawnAgent => "spawn",
        CollabAgentTool::SendInput | CollabAgentTool::SendMessage => "send to",
        CollabAgentTool::FollowupTask => "follow up with",
        CollabAgentTool::ResumeAgent => "resume",
        CollabAgentTool::Wait => "wait for",
        CollabAgentTool::CloseAgent => "close",
        CollabAgentTool::InterruptAgent => "interrupt",
        CollabAgentTool::ListAgents => "list agents",
    };
    let targets: Vec<String> = c.receiver_thread_ids.iter().map(|id| names(id)).collect();
    let arrow = if targets.is_empty() {
        String::new()
    } else {
        format!(" → {}", targets.join(", "))
    };
    let (state, style) = match c.status {
        CollabAgentToolCallStatus::InProgress => (" …", header),
        CollabAgentToolCallStatus::Completed => ("", header),
        CollabAgentToolCallStatus::Failed => (" ✗ failed", bold(Color::Red)),
        CollabAgentToolCallStatus::Interrupted => (" ✗ interrupted", bold(Color::Yellow)),
    };
    out.push((sanitize(&format!("⇉ {verb}{arrow}{state}")), style));
    if let Some(prompt) = c.prompt.as_deref().filter(|p| !p.trim().is_empty()) {
        let one_line = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push((
            format!("  “{}”", sanitize(&shorten(&one_line, COLLAB_TEXT_CHARS))),
            Style::default(),
        ));
    }
    for (id, s) in &c.agents_states {
        let (word, style) = match s.status {
            CollabAgentStatus::PendingInit => ("starting", dim()),
            CollabAgentStatus::Running => ("running", Style::default().fg(Color::Cyan)),
            CollabAgentStatus::Completed => ("completed", Style::default().fg(Color::Green)),
            CollabAgentStatus::Interrupted => ("interrupted", Style::default().fg(Color::Yellow)),
            CollabAgentStatus::Errored => ("errored", Style::default().fg(Color::Red)),
            CollabAgentStatus::Shutdown => ("closed", dim()),
            CollabAgentStatus::NotFound => ("not found", Style::default().fg(Color::Red)),
        };
        let message = s
            .message
            .as_deref()
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|m| !m.is_empty())
            .map(|m| format!(" — {}", shorten(&m, COLLAB_TEXT_CHARS)))
            .unwrap_or_default();
        out.push((
            sanitize(&format!("  {}: {word}{message}", names(id))),
            style,
        ));
    }
}

/// How a user's image reads in the transcript: its path or URL, but a `data:` URL (megabytes of
/// base64) by its type and size only.
pub fn image_label(url: &str) -> String {
    let Some(data) = url.strip_prefix("data:") else {
        return sanitize(url);
    };
    let (head, payload) = data.split_once(',').unwrap_or((data, ""));
    let mime = head
        .split(';')
        .next()
        .filter(|m| !m.is_empty())
        .unwrap_or("image");
    let bytes = if head.ends_with(";base64") {
        payload.trim_end_matches('=').len() * 3 / 4
    } else {
        payload.len()
    };
    let size = match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{} KB", b / 1024),
        b => format!("{b} B"),
    };
    sanitize(&format!("{}, {size}", shorten(mime, 40)))
}

/// A web search in a line: the queries searched, the page opened, or the text looked for.
fn web_search_lines(out: &mut Vec<Styled>, w: &WebSearchItem) {
    let quoted = |q: &str| format!("“{}”", q.split_whitespace().collect::<Vec<_>>().join(" "));
    fn some(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let query = Some(w.query.trim()).filter(|q| !q.is_empty());
    let text = match &w.action {
        Some(WebSearchAction::OpenPage { url }) => match some(url) {
            Some(url) => format!("opened {url}"),
            None => "opened a page".to_owned(),
        },
        Some(WebSearchAction::FindInPage { url, pattern }) => format!(
            "looked for {}{}",
            some(pattern)
                .map(quoted)
                .unwrap_or_else(|| "text".to_owned()),
            some(url).map(|u| format!(" in {u}")).unwrap_or_default()
        ),
        action => {
            let mut queries: Vec<&str> = match action {
                Some(WebSearchAction::Search { queries, query: q }) => {
                    let listed: Vec<&str> = queries
                        .iter()
                        .flatten()
                        .map(|q| q.trim())
                        .filter(|q| !q.is_empty())
                        .collect();
                    if listed.is_empty() {
                        some(q).into_iter().collect()
                    } else {
                        listed
                    }
                }
                _ => Vec::new(),
            };
            if queries.is_empty() {
                queries.extend(query);
            }
            if queries.is_empty() {
                "searching the web…".to_owned()
            } else {
                let list: Vec<String> = queries.into_iter().map(quoted).collect();
                format!("searched the web for {}", list.join(", "))
            }
        }
    };
    out.push((
        sanitize(&format!("⌕ {text}")),
        Style::default().fg(Color::Blue),
    ));
}

fn item_lines(out: &mut Vec<Styled>, item: &ThreadItem, names: ThreadNames<'_>) {
    match item {
        ThreadItem::WebSearch(w) => web_search_lines(out, w),
        ThreadItem::UserMessage(m) => {
            let user = Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD);
            for input in &m.content {
                match input {
                    UserInput::Text { text, .. } => push_text(out, text, "› ", "  ", user),
                    UserInput::Image { url } => {
                        out.push((format!("› [image {}]", image_label(url)), user))
                    }
                    UserInput::LocalImage { path } => {
                        out.push((format!("› [image {}]", sanitize(path)), user))
                    }
                    // References the model is given to read, by name.
                    UserInput::Skill { name, path } => {
                        out.push((sanitize(&format!("› [skill {name}: {path}]")), user))
                    }
                    UserInput::Mention { name, path } => {
                        out.push((sanitize(&format!("› [@{name}: {path}]")), user))
                    }
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
        ThreadItem::CollabAgentToolCall(c) => collab_lines(out, c, names),
        ThreadItem::McpToolCall(c) => mcp_lines(out, c),
        // Context a hook added for the model: shown quietly, one fragment per hook run.
        ThreadItem::HookPrompt(h) => {
            for fragment in &h.fragments {
                push_text(out, &fragment.text, "hook: ", "      ", dim());
            }
        }
    }
}

fn entry_lines(out: &mut Vec<Styled>, entry: &Entry, names: ThreadNames<'_>) {
    match entry {
        Entry::Item(item) => item_lines(out, item, names),
        Entry::OtherItem { kind, .. } => out.push((sanitize(&format!("[{kind} item]")), dim())),
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
/// with thousands of items costs what the screen shows, not what the thread holds. `names`
/// names the sub-agents its calls are about.
pub fn tail_lines(
    t: &Transcript,
    width: usize,
    wanted: usize,
    names: ThreadNames<'_>,
) -> (Vec<Line<'static>>, bool) {
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
        entry_lines(&mut lines, entry, names);
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
