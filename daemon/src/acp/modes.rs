//! The session modes an editor offers: agentd's sandbox modes with the approval policy that
//! goes with each, applied to every turn of the session.

use agentd_protocol::{AskForApproval, SandboxMode, SandboxPolicy};

use super::wire::{SessionMode, SessionModeState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ReadOnly,
    Auto,
    FullAccess,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::ReadOnly, Mode::Auto, Mode::FullAccess];

    pub fn id(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::Auto => "auto",
            Mode::FullAccess => "full-access",
        }
    }

    pub fn from_id(id: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.id() == id)
    }

    /// The mode a thread's sandbox amounts to.
    pub fn of_sandbox(policy: &SandboxPolicy) -> Mode {
        match policy {
            SandboxPolicy::ReadOnly { .. } => Mode::ReadOnly,
            SandboxPolicy::DangerFullAccess => Mode::FullAccess,
            _ => Mode::Auto,
        }
    }

    pub fn approval(self) -> AskForApproval {
        match self {
            Mode::ReadOnly | Mode::Auto => AskForApproval::OnRequest,
            Mode::FullAccess => AskForApproval::Never,
        }
    }

    pub fn sandbox(self) -> SandboxPolicy {
        SandboxPolicy::from_mode(match self {
            Mode::ReadOnly => SandboxMode::ReadOnly,
            Mode::Auto => SandboxMode::WorkspaceWrite,
            Mode::FullAccess => SandboxMode::DangerFullAccess,
        })
    }

    fn describe(self) -> SessionMode {
        let (name, description) = match self {
            Mode::ReadOnly => ("Read only", "Reads files; anything else asks first"),
            Mode::Auto => (
                "Auto",
                "Edits and runs commands in the workspace, sandboxed; asks to go beyond it",
            ),
            Mode::FullAccess => ("Full access", "No sandbox and no questions"),
        };
        SessionMode {
            id: self.id().to_owned(),
            name: name.to_owned(),
            description: Some(description.to_owned()),
        }
    }

    pub fn state(self) -> SessionModeState {
        SessionModeState {
            current_mode_id: self.id().to_owned(),
            available_modes: Mode::ALL.into_iter().map(Mode::describe).collect(),
        }
    }
}
