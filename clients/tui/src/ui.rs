//! Draws the whole screen from the app state: thread list, transcript, composer, status line,
//! and the approval prompt over everything while one is waiting.

use agentd_protocol::{ThreadActiveFlag, ThreadStatus};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

use crate::app::{App, Approval, ApprovalKind, FieldKind, Focus, Form};
use crate::render::{
    change_header, sanitize, short_id, shorten, tail_lines, thread_label, thread_title, wrap,
    Styled,
};
use crate::tree;

/// An MCP call's arguments in the approval prompt: pretty-printed, at most this many lines.
const ARGUMENT_LINES: usize = 16;

fn border(focused: bool) -> Style {
    if focused {
        Style::default().fg(Color::Cyan)
    } else {
        Style::default().fg(Color::DarkGray)
    }
}

/// A thread's status as a list marker and as words.
fn status_label(status: &ThreadStatus) -> (&'static str, &'static str) {
    match status {
        ThreadStatus::Active { active_flags }
            if active_flags.contains(&ThreadActiveFlag::WaitingOnApproval) =>
        {
            ("? ", "waiting on approval")
        }
        ThreadStatus::Active { .. } => ("● ", "running"),
        ThreadStatus::Idle => ("  ", "idle"),
        ThreadStatus::NotLoaded => ("  ", "not loaded"),
        ThreadStatus::SystemError => ("✗ ", "error"),
    }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let [main, composer, status] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let list_width = (main.width / 3).min(32);
    let [list, transcript] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)]).areas(main);
    draw_threads(frame, app, list);
    draw_transcript(frame, app, transcript);
    draw_composer(frame, app, composer);
    draw_status(frame, app, status);
    if let Some(approval) = app.approvals.first() {
        draw_approval(frame, app, approval);
    }
}

/// A sub-agent's state in the thread list, in a word (a root thread's marker says enough).
fn agent_state(status: &ThreadStatus) -> &'static str {
    match status {
        ThreadStatus::Active { active_flags }
            if active_flags.contains(&ThreadActiveFlag::WaitingOnApproval) =>
        {
            "asks"
        }
        ThreadStatus::Active { .. } => "running",
        ThreadStatus::Idle => "idle",
        ThreadStatus::NotLoaded => "idle",
        ThreadStatus::SystemError => "error",
    }
}

fn draw_threads(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Focus::Threads;
    let open = app.transcript.as_ref().map(|t| t.thread.id.as_str());
    // Search hits are ranked, not a tree: no indent there.
    let depths = if app.search.is_none() {
        tree::depths(&app.threads)
    } else {
        vec![0; app.threads.len()]
    };
    let items: Vec<ListItem> = app
        .threads
        .iter()
        .zip(depths)
        .map(|(t, depth)| {
            let style = if Some(t.id.as_str()) == open {
                Style::default().add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            let title = sanitize(&thread_title(t)).replace('\n', " ");
            let marker = status_label(&t.status).0;
            let text = match tree::nickname(t) {
                // A sub-agent: indented under its parent, by nickname and state.
                Some(nick) => format!(
                    "{marker}{}↳ {} {} · {title}",
                    "  ".repeat(depth.saturating_sub(1)),
                    sanitize(nick),
                    agent_state(&t.status)
                ),
                None => format!("{marker}{title}"),
            };
            ListItem::new(Line::styled(text, style))
        })
        .collect();
    let highlight = if focused {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default().fg(Color::Cyan)
    };
    let list = List::new(items)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(border(focused))
                .title(match (&app.search, app.search_editing) {
                    (Some(q), true) => format!(" Search: {}▏", sanitize(q)),
                    (Some(q), false) => format!(" “{}” ({}) ", sanitize(q), app.threads.len()),
                    (None, _) => format!(" Threads ({}) ", app.threads.len()),
                }),
        )
        .highlight_style(highlight);
    let mut state = ListState::default();
    if !app.threads.is_empty() {
        state.select(Some(app.selected));
    }
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_transcript(frame: &mut Frame, app: &App, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border(false));
    let Some(t) = &app.transcript else {
        let hint = Paragraph::new(vec![
            Line::raw("No thread open."),
            Line::raw(""),
            Line::raw("Type a message and press Enter to start a new thread,"),
            Line::raw("or press Tab and pick one from the list."),
        ])
        .block(block.title(format!(" agentd · {} ", app.endpoint)));
        frame.render_widget(hint, area);
        return;
    };
    let parent = tree::parent_of(&t.thread).map(|p| match app.threads.iter().find(|x| x.id == p) {
        Some(x) => format!(" · sub-agent of {}", thread_label(x)),
        None => format!(" · sub-agent of {}", short_id(p)),
    });
    let title = format!(
        " {}{} · {} ",
        sanitize(&thread_label(&t.thread)).replace('\n', " "),
        sanitize(&parent.unwrap_or_default()).replace('\n', " "),
        status_label(&t.thread.status).1
    );
    let block = block.title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height);
    let wanted = height.saturating_add(app.scroll);
    let names = |id: &str| {
        app.threads
            .iter()
            .find(|x| x.id == id)
            .and_then(tree::nickname)
            .map(str::to_owned)
            .unwrap_or_else(|| short_id(id))
    };
    let (lines, whole) = tail_lines(t, usize::from(inner.width), wanted, &names);
    // Scrolled past the first line: stop there, and let PageDown act at once.
    let max_scroll = lines.len().saturating_sub(height);
    app.scroll_limit
        .set(if whole { max_scroll } else { usize::MAX });
    let scroll = app.scroll.min(max_scroll);
    let end = lines.len() - scroll;
    let start = end.saturating_sub(height);
    let visible: Vec<Line> = lines[start..end].to_vec();
    frame.render_widget(Paragraph::new(visible), inner);
}

fn draw_composer(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Focus::Composer;
    let title = if app.turn_running() {
        " Steer the running turn (Enter) · Esc interrupts "
    } else {
        " Message (Enter sends) "
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(border(focused))
        .title(title);
    if !app.attachments.is_empty() {
        // The images the message will carry, by file name, on the bottom border.
        let names: Vec<String> = app
            .attachments
            .iter()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_owned())
            .collect();
        let count = match names.len() {
            1 => "1 image".to_owned(),
            n => format!("{n} images"),
        };
        let text = format!(" ⧉ {count}: {} · Backspace removes ", names.join(", "));
        block = block.title_bottom(Line::styled(
            sanitize(&text),
            Style::default().fg(Color::Magenta),
        ));
    }
    let inner = block.inner(area);
    let width = usize::from(inner.width.saturating_sub(1));
    // The end of a long message stays visible while typing.
    let chars: Vec<char> = app
        .composer
        .chars()
        .map(|c| if c == '\n' { '⏎' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    let shown: String = chars[chars.len().saturating_sub(width)..].iter().collect();
    let shown_width = shown.chars().count();
    frame.render_widget(Paragraph::new(shown).block(block), area);
    if focused && app.approvals.is_empty() {
        let x = inner.x + u16::try_from(shown_width).unwrap_or(inner.width);
        frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), inner.y));
    }
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let (mark, style) = if app.connected {
        ("●", Style::default().fg(Color::Green))
    } else {
        ("●", Style::default().fg(Color::Red))
    };
    let hints = if let Some(approval) = app.approvals.first() {
        match approval.kind {
            ApprovalKind::McpForm { .. } => {
                "Enter send · Tab next field · Space/←/→ choose · Esc decline · Ctrl-X cancel turn"
            }
            ApprovalKind::McpUrl { .. } => "y opened it · n decline · c cancel turn",
            _ => "y accept · a for session · n decline · c cancel turn",
        }
    } else if app.turn_running() {
        "Enter steer · Esc/Ctrl-C interrupt · Ctrl-Q quit"
    } else {
        "Enter send · Tab threads · Ctrl-N new · Ctrl-Q quit"
    };
    let line = Line::from(vec![
        Span::styled(format!("{mark} "), style),
        Span::raw(sanitize(&app.status)),
        Span::styled(format!("  │ {hints}"), Style::default().fg(Color::DarkGray)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn approval_lines(app: &App, approval: &Approval) -> Vec<Styled> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines: Vec<Styled> = Vec::new();
    let open = app.transcript.as_ref().map(|t| t.thread.id.as_str());
    if open != Some(approval.thread_id.as_str()) {
        let thread = app.threads.iter().find(|t| t.id == approval.thread_id);
        let line = match thread {
            // A sub-agent of the open thread (or another) asks: say which, by nickname.
            Some(t) if tree::nickname(t).is_some() => {
                format!("In sub-agent {}", thread_label(t).replace('\n', " "))
            }
            Some(t) => format!("In thread: {}", thread_title(t)),
            None => format!("In thread: {}", approval.thread_id),
        };
        lines.push((sanitize(&line), Style::default()));
    }
    match &approval.kind {
        ApprovalKind::Command { command, cwd } => {
            lines.push(("Run this command?".into(), bold));
            lines.push((
                format!("$ {}", sanitize(command)),
                Style::default().fg(Color::Yellow),
            ));
            lines.push((format!("in {}", sanitize(cwd)), Style::default()));
        }
        ApprovalKind::FileChange { changes } => {
            lines.push(("Apply these changes?".into(), bold));
            for change in changes {
                lines.push((change_header(&change.path, &change.kind), bold));
                for line in change.diff.lines().take(12) {
                    let style = if line.starts_with('+') {
                        Style::default().fg(Color::Green)
                    } else if line.starts_with('-') {
                        Style::default().fg(Color::Red)
                    } else {
                        Style::default()
                    };
                    lines.push((format!("    {}", sanitize(line)), style));
                }
            }
        }
        ApprovalKind::McpTool {
            server,
            tool,
            arguments,
        } => {
            lines.push(("Run this MCP tool?".into(), bold));
            lines.push((
                sanitize(&format!("{server}.{tool}")),
                Style::default().fg(Color::Yellow),
            ));
            argument_lines(&mut lines, arguments);
        }
        ApprovalKind::McpForm { server, form } => form_lines(&mut lines, server, form),
        ApprovalKind::McpUrl {
            server,
            message,
            url,
        } => {
            lines.push((
                format!("{} asks you to open a page:", sanitize(server)),
                bold,
            ));
            lines.push((sanitize(message), Style::default()));
            lines.push((sanitize(url), Style::default().fg(Color::Yellow)));
        }
    }
    if let Some(reason) = &approval.reason {
        lines.push((format!("why: {}", sanitize(reason)), Style::default()));
    }
    lines.push((String::new(), Style::default()));
    let keys = match approval.kind {
        ApprovalKind::McpForm { .. } => {
            "[Enter] send   [Tab] next field   [Esc] decline   [Ctrl-X] cancel the turn"
        }
        ApprovalKind::McpUrl { .. } => "[y] I opened it   [n] no   [c] cancel the turn",
        _ => "[y] yes   [a] yes, for this session   [n] no   [c] cancel the turn",
    };
    lines.push((keys.into(), Style::default().fg(Color::Cyan)));
    if app.approvals.len() > 1 {
        lines.push((
            format!("{} more waiting", app.approvals.len() - 1),
            Style::default().fg(Color::DarkGray),
        ));
    }
    lines
}

/// An MCP call's arguments, pretty-printed (none for `{}`).
fn argument_lines(lines: &mut Vec<Styled>, arguments: &serde_json::Value) {
    if arguments.as_object().is_some_and(|m| m.is_empty()) || arguments.is_null() {
        lines.push(("with no arguments".into(), Style::default()));
        return;
    }
    let pretty = serde_json::to_string_pretty(arguments).unwrap_or_else(|_| arguments.to_string());
    let all: Vec<&str> = pretty.lines().collect();
    for line in all.iter().take(ARGUMENT_LINES) {
        lines.push((
            format!("  {}", sanitize(&shorten(line, 400))),
            Style::default(),
        ));
    }
    if all.len() > ARGUMENT_LINES {
        lines.push((
            format!("  … {} more lines", all.len() - ARGUMENT_LINES),
            Style::default().fg(Color::DarkGray),
        ));
    }
}

/// An MCP server's form: its message, then one line per field, the focused one marked.
fn form_lines(lines: &mut Vec<Styled>, server: &str, form: &Form) {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    lines.push((format!("{} asks:", sanitize(server)), bold));
    lines.push((sanitize(&form.message), Style::default()));
    lines.push((String::new(), Style::default()));
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let star = if field.required { "*" } else { "" };
        let label = sanitize(&field.label);
        let value = sanitize(&field.value);
        let shown = match &field.kind {
            FieldKind::Boolean => {
                let mark = if field.value == "true" { "[x]" } else { "[ ]" };
                format!("{mark} {label}{star}")
            }
            FieldKind::Choice(options) => {
                let value = if value.is_empty() {
                    "—".into()
                } else {
                    value
                };
                format!("{label}{star}: ‹ {value} › ({})", options.len())
            }
            _ => {
                let cursor = if focused { "▏" } else { "" };
                format!("{label}{star}: {value}{cursor}")
            }
        };
        let (prefix, style) = if focused {
            (
                "› ",
                Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
            )
        } else {
            ("  ", Style::default())
        };
        lines.push((format!("{prefix}{shown}"), style));
        if let Some(d) = field.description.as_deref().filter(|_| focused) {
            lines.push((
                format!("    {}", sanitize(d)),
                Style::default().fg(Color::DarkGray),
            ));
        }
    }
    if form.fields.is_empty() {
        lines.push((
            "(nothing to fill in)".into(),
            Style::default().fg(Color::DarkGray),
        ));
    }
    if !form.skipped.is_empty() {
        lines.push((
            format!(
                "cannot fill in here: {}",
                sanitize(&form.skipped.join(", "))
            ),
            Style::default().fg(Color::DarkGray),
        ));
    }
    if let Some(problem) = &form.problem {
        lines.push((sanitize(problem), Style::default().fg(Color::Red)));
    }
}

fn draw_approval(frame: &mut Frame, app: &App, approval: &Approval) {
    let screen = frame.area();
    let width = screen.width.saturating_sub(4).min(90);
    let lines = wrap(
        approval_lines(app, approval),
        usize::from(width.saturating_sub(2)),
    );
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(screen.height.saturating_sub(2));
    let area = Rect {
        x: screen.x + (screen.width - width) / 2,
        y: screen.y + (screen.height - height) / 2,
        width,
        height,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Yellow))
        .title(match &approval.kind {
            ApprovalKind::McpForm { server, .. } | ApprovalKind::McpUrl { server, .. } => {
                format!(" Question from {} ", sanitize(server))
            }
            _ => " Approval needed ".to_owned(),
        });
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
