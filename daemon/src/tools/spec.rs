//! The tool schemas the model sees. Every byte here is sent with every request, so descriptions
//! say what the model needs to use the tool well and nothing more.

use serde_json::json;

use crate::model::ToolSpec;

pub const SHELL: &str = "shell";
pub const APPLY_PATCH: &str = "apply_patch";
pub const UPDATE_PLAN: &str = "update_plan";

pub fn shell() -> ToolSpec {
    ToolSpec::Function {
        name: SHELL.into(),
        description:
            "Run a command (argv, no shell unless you call one, e.g. [\"bash\",\"-lc\",\"…\"]). \
            Output is truncated for you; exit code and wall time are reported."
                .into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "command": {"type": "array", "items": {"type": "string"}, "description": "argv"},
                "workdir": {"type": "string", "description": "Working directory (default: the thread's)."},
                "timeout_ms": {"type": "number", "description": "Kill after this many ms."},
                "justification": {"type": "string", "description": "Why, when asking to escalate."},
                "escalate": {"type": "boolean", "description": "Ask the user to run it outside the sandbox."}
            },
            "required": ["command"],
            "additionalProperties": false
        }),
    }
}

pub const APPLY_PATCH_DESCRIPTION: &str = "Edit files. Input is a patch:\n\
*** Begin Patch\n\
*** Add File: path\n+line\n\
*** Update File: path\n*** Move to: new/path (optional)\n@@ optional context line\n context\n-old\n+new\n\
*** Delete File: path\n\
*** End Patch\n\
Paths are relative to the workdir. Give 3 lines of context around each change; use @@ lines to \
disambiguate. `*** End of File` anchors a chunk at the end. All-or-nothing: any failed chunk \
changes nothing.";

pub fn apply_patch() -> ToolSpec {
    ToolSpec::Freeform {
        name: APPLY_PATCH.into(),
        description: APPLY_PATCH_DESCRIPTION.into(),
    }
}

pub fn update_plan() -> ToolSpec {
    ToolSpec::Function {
        name: UPDATE_PLAN.into(),
        description: "Share your plan: the steps and which one is in progress.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "explanation": {"type": "string"},
                "plan": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "step": {"type": "string"},
                        "status": {"type": "string", "enum": ["pending", "inProgress", "completed"]}
                    },
                    "required": ["step", "status"],
                    "additionalProperties": false
                }}
            },
            "required": ["plan"],
            "additionalProperties": false
        }),
    }
}

/// Every tool, in the order the model sees them.
pub fn all() -> Vec<ToolSpec> {
    vec![shell(), apply_patch(), update_plan()]
}
