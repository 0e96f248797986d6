//! Claude Code compatibility: the `hooks` of `.claude/settings.json` files, and the names and
//! inputs Claude Code's hooks expect for agentd's tools.
//!
//! | agentd tool | Claude Code view |
//! |---|---|
//! | `shell {command: [argv], workdir, timeout_ms}` | `Bash {command: "<argv as a shell reads it>", timeout}` (`bash -lc X` is `X`) |
//! | `apply_patch` | one `Write {file_path, content}` per added file, `Edit {file_path, old_string, new_string}` per updated file (each chunk's old and new lines), `Bash {command: "rm -- <path>"}` per deleted file |
//! | `update_plan` | `TodoWrite {todos: [{content, status}]}` |
//! | `mcp__server__tool` | the same name and input |
//!
//! Paths are absolute. `updatedInput` from a Claude hook is taken back for `Bash` (the command
//! runs as `bash -lc <command>`) and MCP tools; for the others it is refused as a hook failure.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::HookEvent;
use crate::tools::apply_patch::{parse_patch, Hunk};

/// Largest settings file read.
const MAX_SETTINGS_BYTES: u64 = 1024 * 1024;
/// Claude Code's default hook timeout, in seconds (its current documentation's).
pub const DEFAULT_TIMEOUT_SECS: u64 = 600;

/// One command hook of a settings file.
#[derive(Debug, Clone)]
pub struct ClaudeHook {
    pub event: HookEvent,
    pub matcher: Option<String>,
    pub command: String,
    pub timeout_secs: u64,
}

#[derive(Deserialize)]
struct Settings {
    #[serde(default)]
    hooks: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    matcher: Option<String>,
    #[serde(default)]
    hooks: Vec<Handler>,
}

#[derive(Deserialize)]
struct Handler {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    timeout: Option<u64>,
}

/// The command hooks of one settings file (none when it does not exist), and warnings about
/// what was left out (events or handler types agentd does not run).
pub fn read_settings(path: &Path) -> Result<(Vec<ClaudeHook>, Vec<String>), String> {
    let bytes = match crate::paths::read_limited(path, MAX_SETTINGS_BYTES) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e.to_string()),
    };
    let settings: Settings =
        serde_json::from_slice(&bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut hooks = Vec::new();
    let mut warnings = Vec::new();
    for (name, groups) in settings.hooks.unwrap_or_default() {
        let Some(event) = HookEvent::from_name(&name) else {
            warnings.push(format!(
                "{}: event {name} is not one agentd runs",
                path.display()
            ));
            continue;
        };
        let groups: Vec<Group> =
            serde_json::from_value(groups).map_err(|e| format!("hooks.{name}: {e}"))?;
        for group in groups {
            for handler in group.hooks {
                match (handler.kind.as_deref(), handler.command) {
                    (None | Some("command"), Some(command)) if !command.trim().is_empty() => hooks
                        .push(ClaudeHook {
                            event,
                            matcher: group.matcher.clone(),
                            command,
                            timeout_secs: handler
                                .timeout
                                .filter(|t| *t > 0)
                                .unwrap_or(DEFAULT_TIMEOUT_SECS)
                                .min(3600),
                        }),
                    (kind, _) => warnings.push(format!(
                        "{}: a {name} hook of type {} is not run (agentd runs command hooks)",
                        path.display(),
                        kind.unwrap_or("command without a command")
                    )),
                }
            }
        }
    }
    Ok((hooks, warnings))
}

/// A tool call as Claude Code's hooks see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolView {
    pub name: String,
    pub input: Value,
}

/// The views of one call (several for a patch touching several files).
pub fn views(tool: &str, arguments: &str, cwd: &Path) -> Vec<ToolView> {
    let parsed: Option<Value> = serde_json::from_str(arguments).ok();
    match tool {
        "shell" => vec![bash_view(parsed.as_ref(), cwd)],
        "apply_patch" => patch_views(arguments, parsed.as_ref(), cwd),
        "update_plan" => vec![todo_view(parsed.as_ref())],
        _ => vec![ToolView {
            name: tool.to_owned(),
            input: parsed.unwrap_or_else(|| Value::String(arguments.to_owned())),
        }],
    }
}

fn bash_view(args: Option<&Value>, _cwd: &Path) -> ToolView {
    let argv: Vec<String> = args
        .and_then(|a| a.get("command"))
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let command = match argv.as_slice() {
        [shell, flag, script] if is_shell(shell) && (flag == "-lc" || flag == "-c") => {
            script.clone()
        }
        _ => shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" ")),
    };
    let mut input = json!({ "command": command });
    if let Some(t) = args.and_then(|a| a.get("timeout_ms")) {
        input["timeout"] = t.clone();
    }
    ToolView {
        name: "Bash".into(),
        input,
    }
}

fn is_shell(program: &str) -> bool {
    matches!(
        Path::new(program).file_name().and_then(|n| n.to_str()),
        Some("bash" | "sh" | "zsh")
    )
}

fn patch_views(arguments: &str, parsed: Option<&Value>, cwd: &Path) -> Vec<ToolView> {
    // On Chat Completions the patch arrives as `{input}`.
    let text = parsed
        .and_then(|v| v.get("input"))
        .and_then(Value::as_str)
        .unwrap_or(arguments);
    let Ok(patch) = parse_patch(text) else {
        return vec![ToolView {
            name: "Edit".into(),
            input: json!({ "patch": text }),
        }];
    };
    let abs = |p: &PathBuf| cwd.join(p).display().to_string();
    patch
        .hunks
        .iter()
        .map(|hunk| match hunk {
            Hunk::Add { path, contents } => ToolView {
                name: "Write".into(),
                input: json!({"file_path": abs(path), "content": contents}),
            },
            Hunk::Delete { path } => ToolView {
                name: "Bash".into(),
                input: json!({"command": format!("rm -- {}", abs(path))}),
            },
            Hunk::Update { path, chunks, .. } => {
                let old: Vec<&str> = chunks.iter().flat_map(|c| c.old_lines()).collect();
                let new: Vec<&str> = chunks.iter().flat_map(|c| c.new_lines()).collect();
                ToolView {
                    name: "Edit".into(),
                    input: json!({
                        "file_path": abs(path),
                        "old_string": old.join("\n"),
                        "new_string": new.join("\n"),
                    }),
                }
            }
        })
        .collect()
}

fn todo_view(args: Option<&Value>) -> ToolView {
    let todos: Vec<Value> = args
        .and_then(|a| a.get("plan"))
        .and_then(Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .map(|s| {
                    let status = match s["status"].as_str() {
                        Some("inProgress" | "in_progress") => "in_progress",
                        Some("completed") => "completed",
                        _ => "pending",
                    };
                    json!({"content": s["step"], "status": status})
                })
                .collect()
        })
        .unwrap_or_default();
    ToolView {
        name: "TodoWrite".into(),
        input: json!({ "todos": todos }),
    }
}

/// What Claude Code hooks get as `tool_response`.
pub fn response(view: &ToolView, output: &str) -> Value {
    match view.name.as_str() {
        "Bash" => json!({"stdout": output, "stderr": "", "interrupted": false, "isImage": false}),
        "Write" | "Edit" => json!({"filePath": view.input["file_path"], "success": true}),
        _ => Value::String(output.to_owned()),
    }
}

/// The call's arguments from a Claude hook's `updatedInput`, for the views that map back.
pub fn arguments_from(tool: &str, view: &ToolView, updated: &Value) -> Result<String, String> {
    match (tool, view.name.as_str()) {
        ("shell", "Bash") => {
            let command = updated
                .get("command")
                .and_then(Value::as_str)
                .ok_or("updatedInput for Bash needs a `command` string")?;
            let mut args = json!({"command": ["bash", "-lc", command]});
            if let Some(t) = updated.get("timeout").and_then(Value::as_u64) {
                args["timeout_ms"] = json!(t);
            }
            Ok(args.to_string())
        }
        (t, v) if t == v => Ok(updated.to_string()),
        (_, v) => Err(format!(
            "updatedInput for {v} cannot be applied to agentd's {tool}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_is_bash_with_a_command_string() {
        let cwd = Path::new("/w");
        let v = views("shell", r#"{"command":["bash","-lc","npm test"]}"#, cwd);
        assert_eq!(
            v,
            vec![ToolView {
                name: "Bash".into(),
                input: json!({"command": "npm test"})
            }]
        );
        let v = views(
            "shell",
            r#"{"command":["rm","-rf","a b"],"timeout_ms":5}"#,
            cwd,
        );
        assert_eq!(v[0].input, json!({"command": "rm -rf 'a b'", "timeout": 5}));
    }

    #[test]
    fn a_patch_is_one_view_per_file() {
        let patch = "*** Begin Patch\n*** Add File: new.txt\n+hi\n*** Update File: a.txt\n@@\n-old\n+new\n*** Delete File: gone.txt\n*** End Patch";
        let v = views("apply_patch", patch, Path::new("/w"));
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].name, "Write");
        assert_eq!(v[0].input["file_path"], "/w/new.txt");
        assert_eq!(v[0].input["content"], "hi\n");
        assert_eq!(v[1].name, "Edit");
        assert_eq!(v[1].input["old_string"], "old");
        assert_eq!(v[1].input["new_string"], "new");
        assert_eq!(v[2].input["command"], "rm -- /w/gone.txt");
    }

    #[test]
    fn updated_input_maps_back_for_bash_and_mcp_only() {
        let bash = &views("shell", r#"{"command":["ls"]}"#, Path::new("/"))[0];
        let args = arguments_from("shell", bash, &json!({"command": "ls -la"})).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap()["command"],
            json!(["bash", "-lc", "ls -la"])
        );
        let mcp = &views("mcp__a__b", r#"{"x":1}"#, Path::new("/"))[0];
        assert_eq!(
            arguments_from("mcp__a__b", mcp, &json!({"x": 2})).unwrap(),
            r#"{"x":2}"#
        );
        let edit = ToolView {
            name: "Edit".into(),
            input: json!({}),
        };
        assert!(arguments_from("apply_patch", &edit, &json!({})).is_err());
    }

    #[test]
    fn settings_files_give_command_hooks_and_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(
            &path,
            r#"{"hooks": {
                "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "check.sh", "timeout": 30}]}],
                "Stop": [{"hooks": [{"type": "prompt", "prompt": "x"}]}],
                "TeammateIdle": [{"hooks": [{"type": "command", "command": "x"}]}]
            }, "permissions": {}}"#,
        )
        .unwrap();
        let (hooks, warnings) = read_settings(&path).unwrap();
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].event, HookEvent::PreToolUse);
        assert_eq!(hooks[0].matcher.as_deref(), Some("Bash"));
        assert_eq!(hooks[0].timeout_secs, 30);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(read_settings(&dir.path().join("none.json"))
            .unwrap()
            .0
            .is_empty());
        std::fs::write(&path, "{").unwrap();
        assert!(read_settings(&path).is_err());
    }
}
