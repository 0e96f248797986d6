//! The hooks that apply in a working directory: config.toml's `[[hooks.EVENT]]` (agentd's form),
//! then Claude Code's settings — the user's `~/.claude/settings.json` when
//! `[hooks] claude_user_settings = true`, the project's `.claude/settings.json` and
//! `.claude/settings.local.json` — in Claude Code's order. A project's hooks run only when the
//! project is trusted (`[projects."/path"] trust_level = "trusted"`): a cloned repository must
//! not run code on first use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentd_protocol::{HookErrorInfo, HookSource, HookTrustStatus};

use super::claude::{self, ClaudeHook};
use super::matcher::Matcher;
use crate::config::{HookConfig, HookEvent, HooksConfig, Origin, Projects};

/// Whose conventions a hook follows: what it sees on stdin and how its matcher reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// config.toml: agentd's tool names and inputs, agentd's matcher form.
    Agentd,
    /// A Claude Code settings file: Claude's tool names and inputs, regex matchers,
    /// `$CLAUDE_PROJECT_DIR`.
    Claude,
}

#[derive(Debug, Clone)]
pub struct Hook {
    pub event: HookEvent,
    pub command: Vec<String>,
    pub matcher_text: Option<String>,
    pub matcher: Matcher,
    pub timeout: Duration,
    pub style: Style,
    pub source: HookSource,
    pub source_path: String,
    pub trust: HookTrustStatus,
    /// The project a settings file belongs to (`$CLAUDE_PROJECT_DIR`).
    pub project_dir: Option<PathBuf>,
}

impl Hook {
    pub fn enabled(&self) -> bool {
        self.trust != HookTrustStatus::Untrusted
    }
}

#[derive(Debug, Clone, Default)]
pub struct HookSet {
    hooks: Vec<Hook>,
    pub warnings: Vec<String>,
    pub errors: Vec<HookErrorInfo>,
}

impl HookSet {
    /// The hooks for `cwd` (settings files are read now).
    pub fn load(config: &HooksConfig, projects: &Projects, cwd: &Path) -> HookSet {
        let mut set = HookSet::default();
        for (event, hooks) in &config.events {
            set.hooks
                .extend(hooks.iter().map(|h| from_config(*event, h)));
        }
        if config.claude_user_settings {
            if let Some(home) = std::env::var_os("HOME") {
                let path = PathBuf::from(home).join(".claude").join("settings.json");
                set.add_settings(&path, HookSource::User, HookTrustStatus::Trusted, None);
            }
        }
        if let Some(project) = project_dir(cwd) {
            let trust = if projects.trusts(&project) {
                HookTrustStatus::Trusted
            } else {
                HookTrustStatus::Untrusted
            };
            for file in ["settings.json", "settings.local.json"] {
                let path = project.join(".claude").join(file);
                set.add_settings(&path, HookSource::Project, trust, Some(&project));
            }
        }
        set
    }

    /// [`HookSet::load`] on a blocking thread, for async callers: the settings files are
    /// files a project (or the model, through its shell) controls, and reading them must not
    /// hold the daemon's one worker thread. A failure of the blocking task is reported as an
    /// error of the set, like an unreadable file.
    pub async fn load_off_worker(config: &HooksConfig, projects: &Projects, cwd: &Path) -> HookSet {
        let (config, projects, dir) = (config.clone(), projects.clone(), cwd.to_path_buf());
        match tokio::task::spawn_blocking(move || HookSet::load(&config, &projects, &dir)).await {
            Ok(set) => set,
            Err(e) => HookSet {
                errors: vec![HookErrorInfo {
                    path: cwd.display().to_string(),
                    message: format!("reading the hooks settings failed: {e}"),
                }],
                ..HookSet::default()
            },
        }
    }

    fn add_settings(
        &mut self,
        path: &Path,
        source: HookSource,
        trust: HookTrustStatus,
        project: Option<&Path>,
    ) {
        match claude::read_settings(path) {
            Ok((hooks, warnings)) => {
                self.warnings.extend(warnings);
                for hook in hooks {
                    match from_claude(hook, path, source, trust, project) {
                        Ok(h) => self.hooks.push(h),
                        Err(w) => self.warnings.push(w),
                    }
                }
            }
            Err(message) => self.errors.push(HookErrorInfo {
                path: path.display().to_string(),
                message,
            }),
        }
    }

    /// Every hook, runnable or not (for `hooks/list`).
    pub fn all(&self) -> &[Hook] {
        &self.hooks
    }

    /// The runnable hooks of one event, in order.
    pub fn of(&self, event: HookEvent) -> impl Iterator<Item = &Hook> {
        self.hooks
            .iter()
            .filter(move |h| h.event == event && h.enabled())
    }

    pub fn has(&self, event: HookEvent) -> bool {
        self.of(event).next().is_some()
    }
}

/// The directory whose `.claude/` applies: the nearest ancestor of `cwd` (itself included)
/// holding a `.claude` directory, not above the repository's root.
fn project_dir(cwd: &Path) -> Option<PathBuf> {
    for dir in cwd.ancestors() {
        if dir.join(".claude").is_dir() {
            return Some(dir.to_path_buf());
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

fn from_config(event: HookEvent, h: &HookConfig) -> Hook {
    let (source, source_path) = match &h.origin {
        Origin::File(path) | Origin::Profile { file: path, .. } => {
            (HookSource::User, path.display().to_string())
        }
        Origin::CommandLine { .. } => (HookSource::SessionFlags, h.origin.to_string()),
        Origin::Default => (HookSource::Unknown, String::new()),
    };
    Hook {
        event,
        command: h.command.clone(),
        matcher_text: h.matcher.clone(),
        matcher: Matcher::agentd(h.matcher.as_deref()),
        timeout: Duration::from_millis(h.timeout_ms),
        style: Style::Agentd,
        source,
        source_path,
        trust: HookTrustStatus::Trusted,
        project_dir: None,
    }
}

fn from_claude(
    hook: ClaudeHook,
    path: &Path,
    source: HookSource,
    trust: HookTrustStatus,
    project: Option<&Path>,
) -> Result<Hook, String> {
    let matcher = Matcher::claude(hook.matcher.as_deref()).map_err(|e| {
        format!(
            "{}: a {} hook is not run: {e}",
            path.display(),
            hook.event.name()
        )
    })?;
    Ok(Hook {
        event: hook.event,
        command: vec!["sh".into(), "-c".into(), hook.command],
        matcher_text: hook.matcher,
        matcher,
        timeout: Duration::from_secs(hook.timeout_secs),
        style: Style::Claude,
        source,
        source_path: path.display().to_string(),
        trust,
        project_dir: project.map(Path::to_path_buf),
    })
}
