//! The policy stage: a call's [`Risk`] and the thread's approval policy decide whether it runs,
//! needs a person's yes first, or cannot run at all. One table for every tool; the exec policy
//! (rules and the built-in safe/dangerous lists) speaks for commands.

use agentd_protocol::{AskForApproval, GranularApproval};

use super::execpolicy::{Assessment, Decision, Safety};
use super::handler::Risk;

/// What the policy says about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Run,
    /// Ask first, for this reason.
    Ask(String),
    /// Nobody can be asked (approvals are off) and it may not run unasked; a person's earlier
    /// `acceptForSession` still lets it run.
    Refuse(String),
    /// A rule forbids it outright: it never runs, whatever anyone said before.
    Forbid(String),
}

pub fn verdict(policy: AskForApproval, risk: &Risk) -> Verdict {
    use AskForApproval::*;
    if let Granular(allowed) = policy {
        return granular(allowed, risk);
    }
    match risk {
        Risk::Inert => Verdict::Run,
        Risk::ReadOnly => match policy {
            Untrusted => Verdict::Ask("approval policy untrusted asks for every tool".into()),
            _ => Verdict::Run,
        },
        Risk::Mutating => match policy {
            Never => Verdict::Run,
            _ => Verdict::Ask("the tool may change things".into()),
        },
        Risk::WritesFiles { writable } => match (policy, writable) {
            (Never, false) => {
                Verdict::Refuse("the sandbox is read-only and approvals are off".into())
            }
            (Never, true) => Verdict::Run,
            (Untrusted, _) => Verdict::Ask(String::new()),
            (OnRequest | OnFailure, true) => Verdict::Run,
            (OnRequest | OnFailure, false) => Verdict::Ask(String::new()),
            (Granular(_), _) => Verdict::Ask(String::new()),
        },
        Risk::Command {
            assessment,
            escalate,
            justification,
        } => command_verdict(policy, assessment, *escalate, justification.as_deref()),
    }
}

/// A `granular` policy decides as `on-request`; a question of a kind it does not let through is
/// answered "no" at once, and the model is told why.
fn granular(allowed: GranularApproval, risk: &Risk) -> Verdict {
    let reason = match verdict(AskForApproval::OnRequest, risk) {
        Verdict::Ask(reason) => reason,
        other => return other,
    };
    let (kind, open) = match risk {
        Risk::Command {
            assessment,
            escalate: true,
            ..
        } if assessment.rule.is_none() && !matches!(assessment.safety, Safety::Dangerous(_)) => {
            ("sandbox_approval", allowed.sandbox_approval)
        }
        Risk::Command { .. } => ("rules", allowed.rules),
        Risk::WritesFiles { .. } => ("sandbox_approval", allowed.sandbox_approval),
        Risk::ReadOnly | Risk::Mutating | Risk::Inert => {
            ("mcp_elicitations", allowed.mcp_elicitations)
        }
    };
    if open {
        return Verdict::Ask(reason);
    }
    let why = if reason.is_empty() {
        "it needs approval".to_owned()
    } else {
        reason
    };
    Verdict::Refuse(format!(
        "not run: {why}, and nobody can approve it in this run (approval policy granular, \
         {kind} = false)"
    ))
}

/// Whether a person may be asked to run a call outside the sandbox after the sandbox refused
/// it: not when approvals are off, nor when a `granular` policy keeps sandbox questions shut.
pub fn may_ask_to_escalate(policy: AskForApproval) -> bool {
    match policy {
        AskForApproval::Never => false,
        AskForApproval::Granular(allowed) => allowed.sandbox_approval,
        _ => true,
    }
}

/// A rule's verdict is final when nobody can be asked: `forbidden` always, and `prompt` under
/// approval policy `never` (running it unasked would ignore the rule).
fn command_verdict(
    policy: AskForApproval,
    assessment: &Assessment,
    escalate: bool,
    justification: Option<&str>,
) -> Verdict {
    if let Some(rule) = &assessment.rule {
        let why = rule
            .justification
            .as_ref()
            .map(|j| format!(": {j}"))
            .unwrap_or_default();
        if rule.decision == Decision::Forbidden {
            return Verdict::Forbid(format!(
                "command forbidden by exec policy ({}){why}",
                rule.source
            ));
        }
        if rule.decision == Decision::Prompt && policy == AskForApproval::Never {
            return Verdict::Forbid(format!(
                "command not run: exec policy ({}) requires approval{why}; approvals are off \
                 (approval_policy = never)",
                rule.source
            ));
        }
    }
    match approval_reason(policy, assessment, escalate) {
        None => Verdict::Run,
        Some(reason) => Verdict::Ask(match justification {
            Some(j) => format!("{reason}; {j}"),
            None => reason,
        }),
    }
}

/// Why a command needs a person's yes, if it does.
fn approval_reason(
    policy: AskForApproval,
    assessment: &Assessment,
    escalate: bool,
) -> Option<String> {
    let rule_prompt = assessment
        .rule
        .as_ref()
        .filter(|r| r.decision == Decision::Prompt)
        .map(|r| {
            format!(
                "exec policy asks for approval{}",
                r.justification
                    .as_ref()
                    .map(|j| format!(": {j}"))
                    .unwrap_or_default()
            )
        });
    let rule_allows = assessment
        .rule
        .as_ref()
        .is_some_and(|r| r.decision == Decision::Allow);
    let dangerous = match &assessment.safety {
        Safety::Dangerous(why) => Some(format!("potentially destructive: {why}")),
        _ => None,
    };
    match policy {
        AskForApproval::Never => None,
        AskForApproval::Untrusted => rule_prompt.or(dangerous).or_else(|| {
            (!rule_allows && !matches!(assessment.safety, Safety::KnownSafe))
                .then(|| "not a known-safe command".to_owned())
        }),
        AskForApproval::OnRequest => rule_prompt
            .or(dangerous)
            .or_else(|| escalate.then(|| "asks to run outside the sandbox".to_owned())),
        AskForApproval::OnFailure => rule_prompt.or(dangerous),
        // Decided as `on-request` by the caller.
        AskForApproval::Granular(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::execpolicy::ExecPolicy;

    fn command(argv: &[&str]) -> Risk {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        Risk::Command {
            assessment: ExecPolicy::default().assess(&argv),
            escalate: false,
            justification: None,
        }
    }

    #[test]
    fn mcp_style_risks_follow_the_approval_policy() {
        use AskForApproval::*;
        assert!(matches!(
            verdict(Untrusted, &Risk::ReadOnly),
            Verdict::Ask(_)
        ));
        assert_eq!(verdict(OnRequest, &Risk::ReadOnly), Verdict::Run);
        assert!(matches!(
            verdict(OnRequest, &Risk::Mutating),
            Verdict::Ask(_)
        ));
        assert_eq!(verdict(Never, &Risk::Mutating), Verdict::Run);
        assert_eq!(verdict(Untrusted, &Risk::Inert), Verdict::Run);
    }

    #[test]
    fn file_writes_ask_only_where_the_sandbox_would_not_let_them() {
        use AskForApproval::*;
        let ro = Risk::WritesFiles { writable: false };
        let rw = Risk::WritesFiles { writable: true };
        assert!(matches!(verdict(Never, &ro), Verdict::Refuse(_)));
        assert_eq!(verdict(Never, &rw), Verdict::Run);
        assert_eq!(verdict(OnRequest, &rw), Verdict::Run);
        assert!(matches!(verdict(OnRequest, &ro), Verdict::Ask(_)));
        assert!(matches!(verdict(Untrusted, &rw), Verdict::Ask(_)));
    }

    #[test]
    fn granular_asks_nobody_about_what_it_shuts_and_says_why() {
        let shut = AskForApproval::Granular(GranularApproval::none());
        assert!(matches!(
            verdict(shut, &command(&["rm", "-rf", "/"])),
            Verdict::Refuse(r) if r.contains("potentially destructive") && r.contains("rules = false")
        ));
        assert!(matches!(
            verdict(shut, &Risk::WritesFiles { writable: false }),
            Verdict::Refuse(r) if r.contains("sandbox_approval = false")
        ));
        assert_eq!(verdict(shut, &command(&["ls"])), Verdict::Run);
        assert_eq!(
            verdict(shut, &Risk::WritesFiles { writable: true }),
            Verdict::Run
        );
        let open = AskForApproval::Granular(GranularApproval {
            rules: true,
            ..GranularApproval::none()
        });
        assert!(matches!(
            verdict(open, &command(&["rm", "-rf", "/"])),
            Verdict::Ask(_)
        ));
        assert!(!may_ask_to_escalate(shut));
    }

    #[test]
    fn commands_follow_the_exec_policy() {
        use AskForApproval::*;
        assert_eq!(verdict(OnRequest, &command(&["ls"])), Verdict::Run);
        assert!(matches!(
            verdict(Untrusted, &command(&["make"])),
            Verdict::Ask(r) if r == "not a known-safe command"
        ));
        assert!(matches!(
            verdict(OnRequest, &command(&["rm", "-rf", "/"])),
            Verdict::Ask(r) if r.starts_with("potentially destructive")
        ));
        assert_eq!(verdict(Never, &command(&["rm", "-rf", "/"])), Verdict::Run);
    }
}
