//! Secrets out of a transcript before it goes to a model for extraction: API keys and tokens
//! of well-known shapes, bearer credentials, private key blocks, and the values of `.env`-style
//! assignments whose names say they are secret. A summary that outlives its thread must never
//! carry them.

use std::sync::OnceLock;

use regex::Regex;

const REDACTED: &str = "[REDACTED]";

struct Patterns {
    private_key: Regex,
    tokens: Regex,
    bearer: Regex,
    assignment: Regex,
}

/// The patterns, or `None` if one failed to compile (a bug the unit tests catch); without them
/// nothing is sent at all.
fn patterns() -> Option<&'static Patterns> {
    static P: OnceLock<Option<Patterns>> = OnceLock::new();
    P.get_or_init(|| {
        Some(Patterns {
        private_key: compile(
            r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\z)",
        )?,
        tokens: compile(concat!(
            r"\b(sk-[A-Za-z0-9_\-]{16,}|sk_(live|test)_[A-Za-z0-9]{16,}|",
            r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|",
            r"xox[abprs]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{30,}|",
            r"glpat-[A-Za-z0-9_\-]{16,}|eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})"
        ))?,
        bearer: compile(r"\b((?i-u:bearer|token|basic))\s+[A-Za-z0-9_\-\.=:+/]{12,}")?,
        assignment: compile(concat!(
            r#"(?m)\b([A-Za-z0-9_]*((?i-u:SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?))[A-Za-z0-9_]*)"#,
            r#"(\s*[=:]\s*)("[^"\n]*"|'[^'\n]*'|[^\s"'\n]+)"#
        ))?,
        })
    })
    .as_ref()
}

fn compile(pattern: &str) -> Option<Regex> {
    match Regex::new(pattern) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, "a redaction pattern does not compile");
            None
        }
    }
}

pub fn redact(text: &str) -> String {
    let Some(p) = patterns() else {
        return REDACTED.to_owned();
    };
    let text = p.private_key.replace_all(text, REDACTED);
    let text = p.tokens.replace_all(&text, REDACTED);
    let text = p
        .bearer
        .replace_all(&text, |c: &regex::Captures| format!("{} {REDACTED}", &c[1]));
    let text = p.assignment.replace_all(&text, |c: &regex::Captures| {
        format!("{}{}{REDACTED}", &c[1], &c[3])
    });
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tokens_and_secret_assignments_go() {
        let text = "use sk-abcdefghijklmnopqrstuvwx here\n\
                    OPENAI_API_KEY=sk-live-value\nDB_PASSWORD: 'hunter22'\n\
                    Authorization: Bearer abcdefghijklmnop123\n\
                    -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n\
                    ghp_abcdefghijklmnopqrstuvwxyz0123 and AKIAABCDEFGHIJKLMNOP\n\
                    PORT=8080";
        let out = redact(text);
        for secret in [
            "abcdefghijklmnopqrstuvwx",
            "sk-live-value",
            "hunter22",
            "abcdefghijklmnop123",
            "MIIE",
            "ghp_",
            "AKIAABCDEFGHIJKLMNOP",
        ] {
            assert!(!out.contains(secret), "{secret} survived: {out}");
        }
        assert!(out.contains("OPENAI_API_KEY=[REDACTED]"), "{out}");
        assert!(out.contains("PORT=8080"), "plain settings stay: {out}");
    }

    #[test]
    fn an_unterminated_key_block_is_cut_to_the_end() {
        let out = redact("before\n-----BEGIN PRIVATE KEY-----\nMIIEsecret");
        assert_eq!(out, "before\n[REDACTED]");
    }
}
