//! What the user types: global keys, the approval prompt's keys, then the focused pane's.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, ApprovalKind, Choice, Focus};

impl App {
    fn scroll_up(&mut self, lines: usize) {
        self.scroll = self
            .scroll
            .saturating_add(lines)
            .min(self.scroll_limit.get());
    }

    /// One key press.
    pub fn on_key(&mut self, key: KeyEvent) {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            match key.code {
                // In a form every letter types: Ctrl-X is its "cancel the turn".
                KeyCode::Char('x') if self.form_open() => self.answer(Choice::Cancel),
                KeyCode::Char('q') | KeyCode::Char('d') => self.quit = true,
                KeyCode::Char('c') if self.turn_running() => self.interrupt(),
                KeyCode::Char('c') => self.quit = true,
                KeyCode::Char('n') => self.new_thread(),
                KeyCode::Char('r') => self.refresh_threads(),
                _ => {}
            }
            return;
        }
        if self.form_open() {
            self.form_key(key.code);
            return;
        }
        if !self.approvals.is_empty() {
            match key.code {
                KeyCode::Char('y') => self.answer(Choice::Accept),
                KeyCode::Char('a') => self.answer(Choice::AcceptForSession),
                KeyCode::Char('n') => self.answer(Choice::Decline),
                KeyCode::Char('c') | KeyCode::Esc => self.answer(Choice::Cancel),
                _ => {}
            }
            return;
        }
        match key.code {
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::Threads => Focus::Composer,
                    Focus::Composer => {
                        // Threads other clients started announce themselves only to their
                        // subscribers: the list is read again whenever it is looked at.
                        if self.connected {
                            self.refresh_threads();
                        }
                        Focus::Threads
                    }
                };
                return;
            }
            KeyCode::PageUp => {
                self.scroll_up(10);
                return;
            }
            KeyCode::PageDown => {
                self.scroll = self.scroll.saturating_sub(10);
                return;
            }
            _ => {}
        }
        match self.focus {
            Focus::Threads => self.thread_list_key(key.code),
            Focus::Composer => self.composer_key(key.code),
        }
    }

    /// Whether the prompt on screen is an MCP server's form.
    pub fn form_open(&self) -> bool {
        self.approvals.first().is_some_and(|a| a.kind.is_form())
    }

    /// A key in an MCP server's form: typing fills the focused field, Tab/↑/↓ move between
    /// fields, Space/←/→ choose a boolean's or an enum's value, Enter sends, Esc declines.
    fn form_key(&mut self, code: KeyCode) {
        let Some(ApprovalKind::McpForm { form, .. }) =
            self.approvals.first_mut().map(|a| &mut a.kind)
        else {
            return;
        };
        match code {
            KeyCode::Enter => self.answer(Choice::Accept),
            KeyCode::Esc => self.answer(Choice::Decline),
            KeyCode::Tab | KeyCode::Down => form.move_focus(true),
            KeyCode::BackTab | KeyCode::Up => form.move_focus(false),
            code => {
                let Some(field) = form.focused() else { return };
                match code {
                    KeyCode::Char(c) if field.takes_text() => field.value.push(c),
                    KeyCode::Backspace if field.takes_text() => {
                        field.value.pop();
                    }
                    KeyCode::Char(' ') | KeyCode::Right => field.cycle(true),
                    KeyCode::Left => field.cycle(false),
                    _ => return,
                }
                form.problem = None;
            }
        }
    }

    /// Pasted text (bracketed paste): goes into the composer whole, newlines included, so a
    /// pasted snippet is not sent line by line. In a form it goes into the focused text field,
    /// on one line.
    pub fn on_paste(&mut self, text: &str) {
        if let Some(ApprovalKind::McpForm { form, .. }) =
            self.approvals.first_mut().map(|a| &mut a.kind)
        {
            if let Some(field) = form.focused().filter(|f| f.takes_text()) {
                field.value.push_str(&text.replace(['\r', '\n'], " "));
            }
            return;
        }
        if self.approvals.is_empty() {
            self.focus = Focus::Composer;
            self.composer
                .push_str(&text.replace("\r\n", "\n").replace('\r', "\n"));
        }
    }

    fn thread_list_key(&mut self, code: KeyCode) {
        if self.search_editing {
            match code {
                KeyCode::Char(c) => self.search.get_or_insert_with(String::new).push(c),
                KeyCode::Backspace => {
                    if let Some(q) = &mut self.search {
                        q.pop();
                    }
                }
                KeyCode::Enter => {
                    self.search_editing = false;
                    if self.search.as_ref().is_some_and(|q| q.trim().is_empty()) {
                        self.search = None;
                    }
                    self.refresh_threads();
                }
                KeyCode::Esc => self.clear_search(),
                _ => {}
            }
            return;
        }
        match code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') if self.selected + 1 < self.threads.len() => {
                self.selected += 1
            }
            KeyCode::Enter => {
                let Some(thread) = self.threads.get(self.selected) else {
                    return;
                };
                let id = thread.id.clone();
                if self.transcript.as_ref().is_some_and(|t| t.thread.id == id) {
                    self.focus = Focus::Composer;
                } else {
                    self.resume(id, true);
                }
            }
            KeyCode::Char('n') => self.new_thread(),
            KeyCode::Char('r') => self.refresh_threads(),
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('/') => {
                self.search = Some(String::new());
                self.search_editing = true;
            }
            KeyCode::Esc if self.search.is_some() => self.clear_search(),
            _ => {}
        }
    }

    fn clear_search(&mut self) {
        self.search = None;
        self.search_editing = false;
        self.refresh_threads();
    }

    fn composer_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Char(c) => self.composer.push(c),
            // In an empty composer Backspace takes back the last image attached.
            KeyCode::Backspace if self.composer.is_empty() => {
                if let Some(path) = self.attachments.pop() {
                    self.status = format!("removed {path}");
                }
            }
            KeyCode::Backspace => {
                self.composer.pop();
            }
            KeyCode::Enter => self.submit(),
            KeyCode::Esc => self.interrupt(),
            KeyCode::Up => self.scroll_up(1),
            KeyCode::Down => self.scroll = self.scroll.saturating_sub(1),
            _ => {}
        }
    }
}
